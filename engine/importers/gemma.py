"""Gemma 2 and Gemma 3 from Hugging Face folders: pre-norm decoders with "sandwich" layers.

Both: RMSNorm gains stored as offsets from 1 (``x̂ · (1 + w)``), a norm on each sublayer's output
too (``post_attention_layernorm``, ``post_feedforward_layernorm``), the token embedding times
√d_model inside the embedding layer (the tied head reads the unscaled table), q·k scaled by
``query_pre_attn_scalar``^-½, GeGLU with gelu_pytorch_tanh, grouped-query attention, and local
(sliding-window) layers among global ones as ``layer_types`` says. Gemma 2 soft-caps attention
scores and logits with ``c·tanh(s / c)``; Gemma 3 adds per-head q/k norms and a rotary base of
its own on local layers (``rope_local_base_freq``), its scaling on global layers only.

A ``gemma3`` folder (Gemma3ForConditionalGeneration) holds a vision tower beside the text model:
the text model is opened alone, and its facts say the images part was left out. transformers
gives the same logits for a text-only input, since images change nothing without image tokens.
"""

from __future__ import annotations

from pathlib import Path

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
    tokenizer_json,
    vocab_rows,
)
from .llama import GLOBAL, LOCAL, rope_settings
from .stored_weights import read_float32_weights

# Gemma2Config's and Gemma3TextConfig's defaults where they differ (transformers fills them in).
DEFAULTS = {
    "gemma2": {"pattern": 2, "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
               "rope_theta": 10000.0, "local_rope_theta": None, "qk_norm": False},
    "gemma3_text": {"pattern": 6, "attn_logit_softcapping": None, "final_logit_softcapping": None,
                    "rope_theta": 1_000_000.0, "local_rope_theta": 10000.0, "qk_norm": True},
}
# Sizes config.json may leave out (a gemma3 folder's text_config often names only a few).
SIZES = {"hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
         "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256}
VOCAB = {"gemma2": 256000, "gemma3_text": 262208}
# Where the text model's tensors live: Gemma*ForCausalLM, Gemma3ForConditionalGeneration as
# transformers 5 saves it, and as older uploads did.
PREFIXES = ("model.", "", "model.language_model.", "language_model.model.")
NORMS = {"input_layernorm": "norm_self", "post_attention_layernorm": "norm_self_out",
         "pre_feedforward_layernorm": "norm_ffn", "post_feedforward_layernorm": "norm_ffn_out"}
VISION_PARTS = ("vision_tower", "multi_modal_projector")


def text_config(folder: Path, config: dict) -> tuple[str, dict]:
    """(the text family, its settings): a ``gemma3`` folder's ``text_config``, with the outer
    token ids where the inner ones are unset."""
    if config.get("model_type") != "gemma3":
        return config["model_type"], config
    inner = config.get("text_config")
    if not isinstance(inner, dict):
        raise CheckpointError(f"{folder.name}: a gemma3 config.json needs a text_config object")
    outer = {k: config[k] for k in ("eos_token_id", "bos_token_id", "pad_token_id") if k in config}
    return "gemma3_text", {**outer, **{k: v for k, v in inner.items() if v is not None}}


def layer_kinds(folder: Path, config: dict, layers: int, pattern: int) -> list[str]:
    """Each layer's attention: ``layer_types``, else every ``pattern``-th layer global."""
    types = config.get("layer_types")
    if types is None:
        pattern = integer(config, "sliding_window_pattern", folder, pattern)
        if pattern < 1:
            raise CheckpointError(f"{folder.name}: sliding_window_pattern={pattern} must be at least 1")
        types = [LOCAL if (i + 1) % pattern else GLOBAL for i in range(layers)]
    if not isinstance(types, list) or len(types) != layers or not all(t in (GLOBAL, LOCAL) for t in types):
        raise CheckpointError(f"{folder.name}: layer_types={str(types)[:80]} is not supported: "
                              f"expected {layers} entries, each {GLOBAL!r} or {LOCAL!r}")
    return types


def rope_bases(folder: Path, config: dict, defaults: dict) -> tuple[float, float | None, dict | None]:
    """(global base, local base, global scaling). Gemma 3 keeps one ``rope_parameters`` entry per
    layer type (transformers 5) or ``rope_theta`` + ``rope_local_base_freq`` (older uploads)."""
    parameters = config.get("rope_parameters")
    if isinstance(parameters, dict) and isinstance(parameters.get(GLOBAL), dict):
        full = {"rope_theta": defaults["rope_theta"], **parameters[GLOBAL]}
        local = {"rope_theta": defaults["local_rope_theta"] or full["rope_theta"],
                 **(parameters.get(LOCAL) or {})}
        theta, _, scaling = rope_settings(folder, {"rope_parameters": full})
        local_theta, _, local_scaling = rope_settings(folder, {"rope_parameters": local})
        if local_scaling is not None:
            raise CheckpointError(f"{folder.name}: rope scaling on the local layers is not supported")
        return theta, local_theta if defaults["local_rope_theta"] is not None else None, scaling
    flat = {"rope_theta": config.get("rope_theta", defaults["rope_theta"]),
            **{k: v for k, v in config.items() if k in ("rope_parameters", "rope_scaling") and v}}
    theta, _, scaling = rope_settings(folder, flat)
    if defaults["local_rope_theta"] is None:
        return theta, None, scaling
    return theta, number(config, "rope_local_base_freq", folder, defaults["local_rope_theta"]), scaling


def gemma_config(folder: Path, family: str, config: dict, outer: dict) -> ModelConfig:
    """``config``: the text model's settings; ``outer``: config.json itself."""
    defaults = DEFAULTS[family]
    layers = integer(config, "num_hidden_layers", folder)
    if not 1 <= layers <= SIZE_LIMITS["n_decoder_layers"][1]:
        raise CheckpointError(f"{folder.name}: config.json: num_hidden_layers={layers} is outside "
                              f"1..{SIZE_LIMITS['n_decoder_layers'][1]}")
    if config.get("use_bidirectional_attention"):
        raise CheckpointError(f"{folder.name}: bidirectional Gemma (use_bidirectional_attention, "
                              "EmbeddingGemma) is not supported; supported: causal Gemma 2 and 3")
    d_model, heads = integer(config, "hidden_size", folder), integer(config, "num_attention_heads", folder)
    head_dim = integer(config, "head_dim", folder, 256)
    kinds = layer_kinds(folder, config, layers, defaults["pattern"])
    local = [i for i, kind in enumerate(kinds) if kind == LOCAL]
    theta, local_theta, scaling = rope_bases(folder, config, defaults)
    generation = read_generation(folder, config, 1)

    def cap(name: str) -> float | None:
        return number(config, name, folder, None) if name in config else defaults[name]

    return ModelConfig(
        architecture="decoder-only",
        vocab_size=integer(config, "vocab_size", folder),
        d_model=d_model,
        n_heads=heads,
        n_kv_heads=integer(config, "num_key_value_heads", folder, heads),
        d_head=head_dim if head_dim * heads != d_model else None,
        n_encoder_layers=0,
        n_decoder_layers=layers,
        d_ff=integer(config, "intermediate_size", folder),
        dropout=0.0,
        attention_dropout=number(config, "attention_dropout", folder, 0.0),
        norm_placement="pre",
        norm_type="rmsnorm",
        norm_eps=number(config, "rms_norm_eps", folder, 1e-6),
        norm_bias=False,
        norm_weight_offset=1.0,
        sandwich_norms=True,
        final_norm=True,
        activation=activation(config.get("hidden_activation") or config.get("hidden_act")
                              or "gelu_pytorch_tanh", folder),
        gated_ffn=True,
        positions="rotary",
        max_positions=integer(config, "max_position_embeddings", folder, 8192),
        rope_theta=theta,
        local_rope_theta=local_theta if local else None,
        rope_scaling=scaling,
        attention_window=integer(config, "sliding_window", folder, 4096) if local else None,
        local_layers=local if local and len(local) < layers else None,
        scale_embeddings=True,
        query_pre_attn_scalar=number(config, "query_pre_attn_scalar", folder, 256.0),
        attention_softcap=cap("attn_logit_softcapping"),
        final_logit_softcap=cap("final_logit_softcapping"),
        bias=False,
        qkv_bias=bool(config.get("attention_bias", False)),
        out_bias=bool(config.get("attention_bias", False)),
        qk_norm=defaults["qk_norm"],
        pad_token_id=integer(config, "pad_token_id", folder, 0),
        unk_token_id=None,
        bos_token_id=integer(config, "bos_token_id", folder, 2),
        eos_token_id=generation.eos,
        decoder_start_token_id=None,
        suppressed_token_ids=generation.banned,
        generation=generation.settings,
        extra={"family": family, "hf_model_type": outer.get("model_type"),
               "hf_architectures": outer.get("architectures") or [],
               "generation_ignored": generation.ignored},
    )


def rename_gemma(state: dict, config: ModelConfig, allow_vision: bool) -> tuple[dict, list[str]]:
    """(the engine's state dict, the vision tensors left out); raises KeyError naming a missing
    tensor and CheckpointError naming unexpected ones."""
    prefix = next((p for p in PREFIXES if f"{p}embed_tokens.weight" in state), "model.")
    used: set[str] = set()

    def take(name: str):
        used.add(name)
        return state[name]

    out = {"token_embedding.weight": take(f"{prefix}embed_tokens.weight")}
    for i in range(config.n_decoder_layers):
        source, target = f"{prefix}layers.{i}", f"decoder.layers.{i}"
        for hf_name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            ours = "out_proj" if hf_name == "o_proj" else hf_name
            for part in ("weight", "bias") if config.bias_of("qkv") else ("weight",):
                out[f"{target}.self_attn.{ours}.{part}"] = take(f"{source}.self_attn.{hf_name}.{part}")
        if config.qk_norm:
            for norm in ("q_norm", "k_norm"):
                out[f"{target}.self_attn.{norm}.weight"] = take(f"{source}.self_attn.{norm}.weight")
        for hf_name, ours in (("gate_proj", "w1"), ("up_proj", "w3"), ("down_proj", "w2")):
            out[f"{target}.ffn.{ours}.weight"] = take(f"{source}.mlp.{hf_name}.weight")
        for hf_name, ours in NORMS.items():
            out[f"{target}.{ours}.weight"] = take(f"{source}.{hf_name}.weight")
    out["decoder.final_norm.weight"] = take(f"{prefix}norm.weight")
    if "lm_head.weight" in state:
        used.add("lm_head.weight")  # Gemma ties its head: transformers reads the token table
    leftover = sorted(set(state) - used)
    vision = [n for n in leftover if allow_vision and any(part in n for part in VISION_PARTS)]
    unexpected = [n for n in leftover if n not in vision and not n.endswith("rotary_emb.inv_freq")]
    if unexpected:
        raise CheckpointError(f"unexpected tensors for this config: {', '.join(unexpected[:5])}"
                              + (f" (and {len(unexpected) - 5} more)" if len(unexpected) > 5 else ""))
    return out, vision


def import_gemma(folder: Path, config: dict):
    family, settings = text_config(folder, config)
    settings = {**SIZES, "vocab_size": VOCAB[family], **settings}  # transformers' defaults
    tokenizer = tokenizer_json(folder, vocab_rows(settings, folder))
    if tokenizer is None:
        raise CheckpointError(f"{folder.name}: {config['model_type']} needs tokenizer.json in the "
                              "model folder")
    if settings.get("tie_word_embeddings", config.get("tie_word_embeddings", True)) is False:
        raise CheckpointError(f"{folder.name}: a Gemma with an untied output head "
                              "(tie_word_embeddings false) is not supported")
    model_config = read_config(folder, gemma_config, folder, family, settings, config)
    state, stored = read_float32_weights(folder)
    check_layer_counts(state, r"(?:model\.|model\.language_model\.|language_model\.model\.)?"
                       r"layers\.(?P<index>\d+)\.",
                       {"decoder": ("num_hidden_layers", model_config.n_decoder_layers)}, folder)
    renamed, vision = renamed_tensors(folder, rename_gemma, state, model_config,
                                      config.get("model_type") == "gemma3")
    model_config.tie_embeddings = True
    model_config.extra["stored_dtype"] = stored
    if vision:
        model_config.extra["text_model_only"] = f"the image encoder ({len(vision)} tensors) is not loaded"
    return build_model(folder, model_config, renamed, tokenizer)


for _model_type in ("gemma2", "gemma3_text", "gemma3"):
    HF_IMPORTERS[_model_type] = import_gemma
