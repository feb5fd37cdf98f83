"""GPT-NeoX (EleutherAI; the Pythia suite) from Hugging Face folders.

A pre-LN decoder with LayerNorms (with bias), rotary positions on the first ``rotary_pct`` of
each head (saved as ``rope_parameters.partial_rotary_factor``), biases everywhere, a GELU MLP
(``dense_h_to_4h``, ``dense_4h_to_h``) and an untied output head (``embed_out``, or ``lm_head``
in newer files). With ``use_parallel_residual`` (Pythia's setting) a layer is
``x + attn(ln1 x) + mlp(ln2 x)``; without it, the usual two residual steps. The fused
``query_key_value`` holds each head's q, k and v side by side: ``[heads, 3, d_head]`` rows.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import SIZE_LIMITS, ModelConfig
from ..errors import CheckpointError
from . import HF_IMPORTERS
from .generation_files import read_generation
from .hf_files import (
    activation,
    build_model,
    check_layer_counts,
    integer,
    number,
    pick,
    read_config,
    renamed_tensors,
    separate_head,
    token_id,
    tokenizer_json,
    vocab_rows,
)
from .llama import rope_settings
from .stored_weights import read_float32_weights

# Buffers of older files (causal masks, rotary tables): recomputed here, never read.
SKIPPED = ("attention.bias", "attention.masked_bias", "attention.rotary_emb.inv_freq")


def neox_rope(folder: Path, config: dict) -> tuple[float, float, dict | None]:
    """Rope settings from ``rope_parameters``, or the older ``rotary_emb_base`` and ``rotary_pct``."""
    config = dict(config)
    parameters = config.get("rope_parameters")
    parameters = dict(parameters) if isinstance(parameters, dict) else {}
    parameters.setdefault("rope_theta", config.get("rotary_emb_base", 10000.0))
    parameters.setdefault("partial_rotary_factor", config.get("rotary_pct", 0.25))
    config["rope_parameters"] = parameters
    return rope_settings(folder, config)


def neox_config(folder: Path, config: dict) -> ModelConfig:
    d_model, heads = integer(config, "hidden_size", folder), integer(config, "num_attention_heads", folder)
    layers = integer(config, "num_hidden_layers", folder)
    if not 1 <= layers <= SIZE_LIMITS["n_decoder_layers"][1]:
        raise CheckpointError(f"{folder.name}: config.json: num_hidden_layers={layers} is outside "
                              f"1..{SIZE_LIMITS['n_decoder_layers'][1]}")
    theta, fraction, scaling = neox_rope(folder, config)
    if heads > 0 and d_model % heads == 0 and int(d_model // heads * fraction) % 2:
        raise CheckpointError(f"{folder.name}: rotary_pct {fraction} rotates "
                              f"{int(d_model // heads * fraction)} dimensions of each head, an odd "
                              "number; the engine rotates pairs")
    generation = read_generation(folder, config)
    eos = token_id(generation.eos)
    bias = bool(config.get("attention_bias", True))
    return ModelConfig(
        architecture="decoder-only",
        vocab_size=integer(config, "vocab_size", folder),
        d_model=d_model,
        n_heads=heads,
        n_encoder_layers=0,
        n_decoder_layers=layers,
        d_ff=integer(config, "intermediate_size", folder),
        dropout=number(config, "hidden_dropout", folder, 0.0),
        attention_dropout=number(config, "attention_dropout", folder, 0.0),
        norm_placement="pre",
        norm_eps=number(config, "layer_norm_eps", folder, 1e-5),
        final_norm=True,
        activation=activation(config.get("hidden_act", "gelu"), folder),
        positions="rotary",
        max_positions=integer(config, "max_position_embeddings", folder, 2048),
        rope_theta=theta,
        rotary_fraction=fraction,
        rope_scaling=scaling,
        parallel_blocks=bool(config.get("use_parallel_residual", True)),
        scale_embeddings=False,
        bias=bias,
        ffn_bias=True,  # the MLP always has biases
        pad_token_id=next((i for i in (token_id(config.get("pad_token_id")), eos)
                           if i is not None), 0),
        unk_token_id=None,
        bos_token_id=token_id(config.get("bos_token_id")),
        eos_token_id=eos,
        decoder_start_token_id=None,
        suppressed_token_ids=generation.banned,
        generation=generation.settings,
        extra={"family": "gpt_neox", "hf_model_type": config.get("model_type"),
               "hf_architectures": config.get("architectures") or [],
               "generation_ignored": generation.ignored},
    )


def _split_qkv(tensor: torch.Tensor, heads: int, name: str) -> tuple[torch.Tensor, ...]:
    """Per-head interleaved ``[q_h, k_h, v_h]`` rows -> the q, k and v projections."""
    if tensor.shape[0] % (3 * heads):
        raise CheckpointError(f"tensor {name!r} has shape {list(tensor.shape)}, which does not "
                              f"split into q, k and v for {heads} heads")
    grouped = tensor.reshape(heads, 3, tensor.shape[0] // (3 * heads), *tensor.shape[1:])
    return tuple(grouped[:, part].reshape(-1, *tensor.shape[1:]).contiguous() for part in range(3))


def rename_neox(state: dict[str, torch.Tensor], config: ModelConfig, tied: bool) -> dict:
    """The engine's state dict; raises KeyError naming a missing Hugging Face tensor."""
    prefix = "gpt_neox." if "gpt_neox.embed_in.weight" in state else ""
    used: set[str] = set()

    def take(name: str) -> torch.Tensor:
        used.add(name)
        return pick(state, name)

    tokens = take(f"{prefix}embed_in.weight")
    out = {"token_embedding.weight": tokens}
    parts = ("weight", "bias") if config.bias else ("weight",)
    for i in range(config.n_decoder_layers):
        source, target = f"{prefix}layers.{i}", f"decoder.layers.{i}"
        for part in parts:
            name = f"{source}.attention.query_key_value.{part}"
            for proj, tensor in zip(("q_proj", "k_proj", "v_proj"),
                                    _split_qkv(take(name), config.n_heads, name), strict=True):
                out[f"{target}.self_attn.{proj}.{part}"] = tensor
            out[f"{target}.self_attn.out_proj.{part}"] = take(f"{source}.attention.dense.{part}")
        for part in ("weight", "bias"):
            out[f"{target}.ffn.w1.{part}"] = take(f"{source}.mlp.dense_h_to_4h.{part}")
            out[f"{target}.ffn.w2.{part}"] = take(f"{source}.mlp.dense_4h_to_h.{part}")
            out[f"{target}.norm_self.{part}"] = take(f"{source}.input_layernorm.{part}")
            out[f"{target}.norm_ffn.{part}"] = take(f"{source}.post_attention_layernorm.{part}")
    for part in ("weight", "bias"):
        out[f"decoder.final_norm.{part}"] = take(f"{prefix}final_layer_norm.{part}")
    for head_name in ("embed_out.weight", "lm_head.weight"):
        if head_name in state:
            used.add(head_name)
            head = separate_head(state, head_name, tokens)
            if head is not None and not tied:
                out["lm_head.weight"] = head
    leftover = sorted(n for n in set(state) - used if not n.endswith(SKIPPED))
    if leftover:
        raise CheckpointError(f"unexpected tensors for this config: {', '.join(leftover[:5])}"
                              + (f" (and {len(leftover) - 5} more)" if len(leftover) > 5 else ""))
    return out


def import_gpt_neox(folder: Path, config: dict):
    tokenizer = tokenizer_json(folder, vocab_rows(config, folder))
    if tokenizer is None:
        raise CheckpointError(f"{folder.name}: gpt_neox needs tokenizer.json in the model folder")
    model_config = read_config(folder, neox_config, folder, config)
    state, stored = read_float32_weights(folder)
    check_layer_counts(state, r"(?:gpt_neox\.)?layers\.(?P<index>\d+)\.",
                       {"decoder": ("num_hidden_layers", model_config.n_decoder_layers)}, folder)
    tied = bool(config.get("tie_word_embeddings", False))
    if not tied and not {"embed_out.weight", "lm_head.weight"} & set(state):
        raise CheckpointError(f"{folder.name}: missing tensor 'embed_out.weight' "
                              "(tie_word_embeddings is false)")
    renamed = renamed_tensors(folder, rename_neox, state, model_config, tied)
    model_config.tie_embeddings = "lm_head.weight" not in renamed
    model_config.extra["stored_dtype"] = stored
    return build_model(folder, model_config, renamed, tokenizer)


HF_IMPORTERS["gpt_neox"] = import_gpt_neox
