"""GPT-2 from Hugging Face folders: a pre-LN decoder-only model with learned positions.

Its Conv1D layers store weights as ``[in, out]`` (transposed here to the engine's ``[out, in]``),
and one fused ``c_attn`` holds q, k and v side by side. A final ``ln_f``, gelu_new, no embedding
scale, and the output head tied to ``wte``. Tensors are named with the ``transformer.`` prefix
(GPT2LMHeadModel) or without it (GPT2Model, the original uploads); ``attn.bias`` and
``attn.masked_bias`` in older files are causal-mask buffers, not weights, and are skipped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import ModelConfig
from ..errors import CheckpointError
from ..tokenizer import HFTokenizer
from . import HF_IMPORTERS
from .generation_files import read_generation
from .hf_files import (
    activation,
    build_model,
    check_layer_counts,
    integer,
    number,
    read_weights,
    separate_head,
    token_id,
    tokenizer_config,
    vocab_rows,
)
from .tokenizer_files import bos_eos_template, byte_level_tokenizer, special_token

# GPT2Config's defaults, for a config.json that leaves a value out (transformers fills them in).
DEFAULTS = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12,
            "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
            "bos_token_id": 50256, "eos_token_id": 50256}
SPECIAL_TOKENS = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                  "unk_token": "<|endoftext|>"}
# Options the engine cannot follow, with what they would change.
UNSUPPORTED = {
    "scale_attn_by_inverse_layer_idx": "divides each layer's attention scores by its layer number",
    "add_cross_attention": "adds cross-attention to an encoder that a GPT-2 folder does not have",
}


def gpt2_tokenizer(folder: Path, vocab_size: int | None = None) -> HFTokenizer:
    """tokenizer.json, or vocab.json + merges.txt; neither adds a start token to a prompt
    (unless tokenizer_config.json asks with ``add_bos_token``), as in transformers."""
    settings = tokenizer_config(folder)
    return byte_level_tokenizer(
        folder, "GPT-2", settings, SPECIAL_TOKENS,
        lambda backend, config: bos_eos_template(backend, config, SPECIAL_TOKENS), vocab_size)


def check_supported(folder: Path, config: dict) -> None:
    refused = [f"{name}={config[name]!r} ({why})" for name, why in UNSUPPORTED.items()
               if config.get(name)]
    if refused:
        raise CheckpointError(f"{folder.name}: unsupported GPT-2 options: {'; '.join(refused)}")


def _conv1d(state: dict, key: str, shape: tuple[int, int], folder: Path) -> torch.Tensor:
    """A Conv1D weight ``[in, out]`` as the engine's Linear weight ``[out, in]``."""
    weight = state[key]
    if tuple(weight.shape) != shape:
        raise CheckpointError(f"{folder.name}: tensor {key!r} has shape {list(weight.shape)} in "
                              f"the file, but the config needs {list(shape)}")
    return weight.t().contiguous()


def rename_gpt2(state: dict, config: ModelConfig, folder: Path) -> dict:
    """The engine's state dict; raises KeyError naming a missing Hugging Face tensor."""
    prefix = "transformer." if any(k.startswith("transformer.") for k in state) else ""
    d, d_ff = config.d_model, config.d_ff
    tokens = state[f"{prefix}wte.weight"]
    out = {"token_embedding.weight": tokens,
           "decoder.position_table.weight": state[f"{prefix}wpe.weight"]}
    for i in range(config.n_decoder_layers):
        source, target = f"{prefix}h.{i}", f"decoder.layers.{i}"
        qkv = _conv1d(state, f"{source}.attn.c_attn.weight", (d, 3 * d), folder)
        qkv_bias = state[f"{source}.attn.c_attn.bias"].reshape(-1)
        if qkv_bias.numel() != 3 * d:  # else q, k and v would not get a third each
            raise CheckpointError(f"{folder.name}: tensor {source}.attn.c_attn.bias has "
                                  f"{qkv_bias.numel()} values in the file, but the config needs {3 * d}")
        for part, weight, bias in zip(("q", "k", "v"), qkv.chunk(3), qkv_bias.chunk(3), strict=True):
            out[f"{target}.self_attn.{part}_proj.weight"] = weight
            out[f"{target}.self_attn.{part}_proj.bias"] = bias
        out[f"{target}.self_attn.out_proj.weight"] = _conv1d(
            state, f"{source}.attn.c_proj.weight", (d, d), folder)
        out[f"{target}.ffn.w1.weight"] = _conv1d(state, f"{source}.mlp.c_fc.weight", (d, d_ff), folder)
        out[f"{target}.ffn.w2.weight"] = _conv1d(state, f"{source}.mlp.c_proj.weight", (d_ff, d), folder)
        for hf_name, ours in (("attn.c_proj", "self_attn.out_proj"), ("mlp.c_fc", "ffn.w1"),
                              ("mlp.c_proj", "ffn.w2")):
            out[f"{target}.{ours}.bias"] = state[f"{source}.{hf_name}.bias"]
        for hf_norm, norm in (("ln_1", "norm_self"), ("ln_2", "norm_ffn")):
            for part in ("weight", "bias"):
                out[f"{target}.{norm}.{part}"] = state[f"{source}.{hf_norm}.{part}"]
    for part in ("weight", "bias"):
        out[f"decoder.final_norm.{part}"] = state[f"{prefix}ln_f.{part}"]
    head = separate_head(state, "lm_head.weight", tokens)
    if head is not None:
        out["lm_head.weight"] = head
    return out


def gpt2_config(folder: Path, config: dict, tokenizer: HFTokenizer) -> ModelConfig:
    def whole(name: str) -> int:
        return integer(config, name, folder, DEFAULTS[name])

    generation = read_generation(folder, config, DEFAULTS["eos_token_id"])
    eos = token_id(generation.eos)
    unk = special_token(tokenizer_config(folder), "unk_token", SPECIAL_TOKENS)
    try:
        d_model = whole("n_embd")
        return ModelConfig(
            architecture="decoder-only",
            vocab_size=whole("vocab_size"),
            d_model=d_model,
            n_heads=whole("n_head"),
            n_encoder_layers=0,
            n_decoder_layers=whole("n_layer"),
            d_ff=integer(config, "n_inner", folder, None) or 4 * d_model,
            dropout=number(config, "resid_pdrop", folder, 0.0),
            attention_dropout=number(config, "attn_pdrop", folder, 0.0),
            norm_placement="pre",
            norm_eps=number(config, "layer_norm_epsilon", folder, DEFAULTS["layer_norm_epsilon"]),
            final_norm=True,
            activation=activation(config.get("activation_function",
                                             DEFAULTS["activation_function"]), folder),
            positions="learned",
            max_positions=whole("n_positions"),
            scale_embeddings=False,
            scale_attention=bool(config.get("scale_attn_weights", True)),
            pad_token_id=next((i for i in (token_id(config.get("pad_token_id")), eos)
                               if i is not None), 0),  # generate() pads with the end token
            unk_token_id=tokenizer.token_to_id(unk) if unk else None,
            bos_token_id=token_id(config.get("bos_token_id", DEFAULTS["bos_token_id"])),
            eos_token_id=eos,
            decoder_start_token_id=None,
            suppressed_token_ids=generation.banned,
            generation=generation.settings,
            extra={"family": "gpt2", "hf_model_type": config.get("model_type"),
                   "hf_architectures": config.get("architectures") or [],
                   # float32 throughout: the upcast this asks for changes nothing here
                   "reorder_and_upcast_attn": bool(config.get("reorder_and_upcast_attn", False)),
                   "generation_ignored": generation.ignored},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{folder.name}: config.json is missing or has an invalid "
                              f"value ({error})") from None


def import_gpt2(folder: Path, config: dict):
    check_supported(folder, config)
    tokenizer = gpt2_tokenizer(folder, vocab_rows(config, folder, DEFAULTS["vocab_size"]))
    model_config = gpt2_config(folder, config, tokenizer)
    state = read_weights(folder)
    check_layer_counts(state, r"(?:transformer\.)?h\.(?P<index>\d+)\.",
                       {"decoder": ("n_layer", model_config.n_decoder_layers)}, folder)
    if config.get("tie_word_embeddings") is False and "lm_head.weight" not in state:
        raise CheckpointError(f"{folder.name}: missing tensor 'lm_head.weight' "
                              "(tie_word_embeddings is false)")
    try:
        renamed = rename_gpt2(state, model_config, folder)
    except KeyError as error:
        raise CheckpointError(f"{folder.name}: missing tensor {error.args[0]!r}") from None
    model_config.tie_embeddings = "lm_head.weight" not in renamed
    return build_model(folder, model_config, renamed, tokenizer)


HF_IMPORTERS["gpt2"] = import_gpt2
