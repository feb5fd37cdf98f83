"""Llama, Mistral, Qwen2 and Qwen3 from Hugging Face folders: one pre-norm decoder, four flavours.

All four: RMSNorm before attention and MLP and at the end, rotary positions (with ``llama3`` or
``linear`` frequency scaling), grouped-query attention, SwiGLU (``down(act(gate x) * up x)``), no
embedding scale, and an ``lm_head`` that is tied or not as ``tie_word_embeddings`` says. They
differ in biases (Llama: ``attention_bias``/``mlp_bias``; Qwen2: q, k and v only; Qwen3:
``attention_bias``), Qwen3's per-head q/k norms, and the local window: Mistral's
``sliding_window`` covers every layer, Qwen's the layers ``layer_types`` (or ``use_sliding_window``
from ``max_window_layers`` on) names. Weights may be sharded and stored as bf16/fp16; they are
read one tensor at a time and computed in float32.
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
    read_config,
    renamed_tensors,
    separate_head,
    token_id,
    tokenizer_json,
    vocab_rows,
)
from .stored_weights import read_float32_weights

GLOBAL, LOCAL = "full_attention", "sliding_attention"
# model_type -> what differs: bias switches (True/False, or the config field that sets it),
# q/k norms, head_dim default (None: hidden_size / heads) and how local layers are named.
FAMILIES = {
    "llama": {"qkv": "attention_bias", "out": "attention_bias", "ffn": "mlp_bias",
              "qk_norm": False, "head_dim": None, "window": None},
    "mistral": {"qkv": False, "out": False, "ffn": False, "qk_norm": False, "head_dim": None,
                "window": "every layer"},
    "qwen2": {"qkv": True, "out": False, "ffn": False, "qk_norm": False, "head_dim": None,
              "window": "layer types"},
    "qwen3": {"qkv": "attention_bias", "out": "attention_bias", "ffn": False, "qk_norm": True,
              "head_dim": 128, "window": "layer types"},
}
# Hugging Face rope types the engine computes exactly (engine/rope_scaling.py), and their fields.
ROPE_FIELDS = {"linear": {"factor": "factor"},
               "llama3": {"factor": "factor", "low_freq_factor": "low_freq_factor",
                          "high_freq_factor": "high_freq_factor",
                          "original_max_position_embeddings": "original_max_positions"}}


def rope_settings(folder: Path, config: dict) -> tuple[float, float, dict | None]:
    """(theta, rotary fraction, scaling) from ``rope_parameters`` or the older ``rope_theta`` +
    ``rope_scaling``; a rope type the engine cannot compute exactly is refused by name."""
    parameters = config.get("rope_parameters")
    parameters = dict(parameters) if isinstance(parameters, dict) else {}
    if isinstance(config.get("rope_scaling"), dict):
        parameters = {**parameters, **config["rope_scaling"]}
    kind = parameters.get("rope_type", parameters.get("type", "default"))
    if kind not in ("default", *ROPE_FIELDS):
        raise CheckpointError(f"{folder.name}: rope type {kind!r} is not supported; supported: "
                              f"default, {', '.join(ROPE_FIELDS)}")
    theta = parameters.get("rope_theta", config.get("rope_theta", 10000.0))
    theta = number({"rope_theta": theta}, "rope_theta", folder)
    fraction = number({"partial_rotary_factor": parameters.get("partial_rotary_factor", 1.0)},
                      "partial_rotary_factor", folder)
    if kind == "default":
        return theta, fraction, None
    scaling = {"type": kind}
    for hf_name, ours in ROPE_FIELDS[kind].items():
        value = parameters.get(hf_name)
        if hf_name == "original_max_position_embeddings" and value is None:
            value = config.get("max_position_embeddings")  # transformers' fallback
        scaling[ours] = number({f"rope_parameters.{hf_name}": value}, f"rope_parameters.{hf_name}",
                               folder)
    return theta, fraction, scaling


def local_layers(folder: Path, config: dict, layers: int, style: str | None) -> list[int] | None:
    """The layers that attend within ``sliding_window``; None: none do."""
    window = config.get("sliding_window")
    if style is None or window is None:
        return None
    if style == "every layer":
        return list(range(layers))
    types = config.get("layer_types")
    if types is None:
        if not config.get("use_sliding_window", False):
            return None
        first = integer(config, "max_window_layers", folder, layers)
        types = [LOCAL if i >= first else GLOBAL for i in range(layers)]
    if not isinstance(types, list) or len(types) != layers or not all(t in (GLOBAL, LOCAL) for t in types):
        raise CheckpointError(f"{folder.name}: layer_types={str(types)[:80]} is not supported: "
                              f"expected {layers} entries, each {GLOBAL!r} or {LOCAL!r}")
    local = [i for i, kind in enumerate(types) if kind == LOCAL]
    return local or None


def _switch(config: dict, setting) -> bool:
    return bool(config.get(setting, False)) if isinstance(setting, str) else setting


def llama_config(folder: Path, config: dict, family: dict) -> ModelConfig:
    d_model, heads = integer(config, "hidden_size", folder), integer(config, "num_attention_heads", folder)
    layers = integer(config, "num_hidden_layers", folder)
    if not 1 <= layers <= SIZE_LIMITS["n_decoder_layers"][1]:
        raise CheckpointError(f"{folder.name}: config.json: num_hidden_layers={layers} is outside "
                              f"1..{SIZE_LIMITS['n_decoder_layers'][1]}")
    head_dim = integer(config, "head_dim", folder, family["head_dim"])
    theta, fraction, scaling = rope_settings(folder, config)
    local = local_layers(folder, config, layers, family["window"])
    generation = read_generation(folder, config)
    eos = token_id(generation.eos)
    model_type = config.get("model_type")
    return ModelConfig(
        architecture="decoder-only",
        vocab_size=integer(config, "vocab_size", folder),
        d_model=d_model,
        n_heads=heads,
        n_kv_heads=integer(config, "num_key_value_heads", folder, heads),
        d_head=head_dim if head_dim is not None and head_dim * heads != d_model else None,
        n_encoder_layers=0,
        n_decoder_layers=layers,
        d_ff=integer(config, "intermediate_size", folder),
        dropout=0.0,
        attention_dropout=number(config, "attention_dropout", folder, 0.0),
        norm_placement="pre",
        norm_type="rmsnorm",
        norm_eps=number(config, "rms_norm_eps", folder, 1e-6),
        norm_bias=False,
        final_norm=True,
        activation=activation(config.get("hidden_act", "silu"), folder),
        gated_ffn=True,
        positions="rotary",
        max_positions=integer(config, "max_position_embeddings", folder, 2048),
        rope_theta=theta,
        rotary_fraction=fraction,
        rope_scaling=scaling,
        attention_window=integer(config, "sliding_window", folder) if local else None,
        local_layers=local if local and len(local) < layers else None,
        scale_embeddings=False,
        bias=False,
        qkv_bias=_switch(config, family["qkv"]),
        out_bias=_switch(config, family["out"]),
        ffn_bias=_switch(config, family["ffn"]),
        qk_norm=family["qk_norm"],
        pad_token_id=next((i for i in (token_id(config.get("pad_token_id")), eos)
                           if i is not None), 0),  # generate() pads with the end token
        unk_token_id=None,
        bos_token_id=token_id(config.get("bos_token_id")),
        eos_token_id=eos,
        decoder_start_token_id=None,
        suppressed_token_ids=generation.banned,
        generation=generation.settings,
        extra={"family": model_type, "hf_model_type": model_type,
               "hf_architectures": config.get("architectures") or [],
               "generation_ignored": generation.ignored},
    )


class _Tensors:
    """The folder's tensors; remembers which were used, so that leftovers are named."""

    def __init__(self, state: dict[str, torch.Tensor]):
        self.state, self.used = state, set()

    def take(self, name: str) -> torch.Tensor:
        if name not in self.state:
            raise KeyError(name)
        self.used.add(name)
        return self.state[name]

    def leftover(self) -> list[str]:
        # Older files keep rotary tables as buffers: recomputed here, never read.
        return sorted(n for n in set(self.state) - self.used if not n.endswith("rotary_emb.inv_freq"))


def rename_llama(state: dict[str, torch.Tensor], config: ModelConfig,
                 tied: bool) -> dict[str, torch.Tensor]:
    """The engine's state dict; raises KeyError naming a missing Hugging Face tensor."""
    prefix = "model." if "model.embed_tokens.weight" in state else ""
    tensors = _Tensors(state)
    tokens = tensors.take(f"{prefix}embed_tokens.weight")
    out = {"token_embedding.weight": tokens}
    projections = {"q_proj": "qkv", "k_proj": "qkv", "v_proj": "qkv", "o_proj": "out"}
    for i in range(config.n_decoder_layers):
        source, target = f"{prefix}layers.{i}", f"decoder.layers.{i}"
        for hf_name, part in projections.items():
            ours = "out_proj" if hf_name == "o_proj" else hf_name
            out[f"{target}.self_attn.{ours}.weight"] = tensors.take(f"{source}.self_attn.{hf_name}.weight")
            if config.bias_of(part):
                out[f"{target}.self_attn.{ours}.bias"] = tensors.take(f"{source}.self_attn.{hf_name}.bias")
        if config.qk_norm:
            for norm in ("q_norm", "k_norm"):
                out[f"{target}.self_attn.{norm}.weight"] = tensors.take(f"{source}.self_attn.{norm}.weight")
        # SwiGLU: the activated gate is the engine's w1, the multiplied up projection its w3.
        for hf_name, ours in (("gate_proj", "w1"), ("up_proj", "w3"), ("down_proj", "w2")):
            out[f"{target}.ffn.{ours}.weight"] = tensors.take(f"{source}.mlp.{hf_name}.weight")
            if config.bias_of("ffn"):
                out[f"{target}.ffn.{ours}.bias"] = tensors.take(f"{source}.mlp.{hf_name}.bias")
        out[f"{target}.norm_self.weight"] = tensors.take(f"{source}.input_layernorm.weight")
        out[f"{target}.norm_ffn.weight"] = tensors.take(f"{source}.post_attention_layernorm.weight")
    out["decoder.final_norm.weight"] = tensors.take(f"{prefix}norm.weight")
    if "lm_head.weight" in state:
        tensors.take("lm_head.weight")
        head = separate_head(state, "lm_head.weight", tokens)
        if head is not None and not tied:  # a tied model reads its token table, as transformers
            out["lm_head.weight"] = head
    leftover = tensors.leftover()
    if leftover:
        raise CheckpointError(f"unexpected tensors for this config: {', '.join(leftover[:5])}"
                              + (f" (and {len(leftover) - 5} more)" if len(leftover) > 5 else ""))
    return out


def import_llama(folder: Path, config: dict):
    family = FAMILIES[config["model_type"]]
    tokenizer = tokenizer_json(folder, vocab_rows(config, folder))
    if tokenizer is None:
        raise CheckpointError(f"{folder.name}: {config['model_type']} needs tokenizer.json in the "
                              "model folder")
    model_config = read_config(folder, llama_config, folder, config, family)
    state, stored = read_float32_weights(folder)
    check_layer_counts(state, r"(?:model\.)?layers\.(?P<index>\d+)\.",
                       {"decoder": ("num_hidden_layers", model_config.n_decoder_layers)}, folder)
    tied = bool(config.get("tie_word_embeddings", False))
    if not tied and "lm_head.weight" not in state:
        raise CheckpointError(f"{folder.name}: missing tensor 'lm_head.weight' "
                              "(tie_word_embeddings is false)")
    renamed = renamed_tensors(folder, rename_llama, state, model_config, tied)
    model_config.tie_embeddings = "lm_head.weight" not in renamed
    model_config.extra["stored_dtype"] = stored
    return build_model(folder, model_config, renamed, tokenizer)


for _model_type in FAMILIES:
    HF_IMPORTERS[_model_type] = import_llama
