"""ModernBERT (Answer.AI and LightOn, 2024) from Hugging Face folders.

An encoder-only, pre-norm model: an embedding norm, LayerNorms without bias, no biases in
attention or MLP, rotary positions, GeGLU (``Wi`` holds the activated half, then the gate),
fused ``Wqkv`` and a final norm. Layer 0 has no attention norm. Layer i attends globally when
``layer_types`` (or, in older configs, ``i % global_attn_every_n_layers == 0``) says so, and
otherwise to keys with ``|q - k| <= local_attention // 2``; each kind of layer rotates with its
own theta. The MLM head is ``head.dense -> act -> head.norm`` before the tied ``decoder``
with its bias.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import SIZE_LIMITS, ModelConfig
from ..errors import CheckpointError
from . import HF_IMPORTERS
from .hf_files import (
    activation,
    build_model,
    integer,
    number,
    read_weights,
    separate_head,
    token_id,
    tokenizer_json,
    vocab_rows,
)

GLOBAL, LOCAL = "full_attention", "sliding_attention"
# transformers' defaults, and the names older configs keep each theta under.
DEFAULT_THETA = {GLOBAL: 160_000.0, LOCAL: 10_000.0}
OLD_THETA_NAMES = {GLOBAL: "global_rope_theta", LOCAL: "local_rope_theta"}


def layer_types(config: dict, folder: Path) -> list[str]:
    """Each layer's attention, from ``layer_types`` or else ``global_attn_every_n_layers``."""
    count = integer(config, "num_hidden_layers", folder)
    most = SIZE_LIMITS["n_encoder_layers"][1]
    if not 1 <= count <= most:  # checked before a list of that many layer kinds is made
        raise CheckpointError(f"{folder.name}: config.json: num_hidden_layers={count} is outside "
                              f"1..{most}")
    types = config.get("layer_types")
    if types is None:
        every = integer(config, "global_attn_every_n_layers", folder, 3)
        if every < 1:
            raise CheckpointError(f"{folder.name}: global_attn_every_n_layers={every} must be >= 1")
        return [GLOBAL if i % every == 0 else LOCAL for i in range(count)]
    if not isinstance(types, list) or len(types) != count or not all(t in (GLOBAL, LOCAL) for t in types):
        raise CheckpointError(f"{folder.name}: layer_types={str(types)[:80]} is not supported: expected "
                              f"{count} entries, each {GLOBAL!r} or {LOCAL!r}")
    return list(types)


def rope_thetas(config: dict, folder: Path) -> dict[str, float]:
    """The rotary base of global and local layers, from either config layout.

    New: ``rope_parameters[layer type].rope_theta``; old: ``global_rope_theta`` and
    ``local_rope_theta``. A ``rope_scaling`` entry applies to both, as in transformers.
    """
    parameters = config.get("rope_parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    scaling = config.get("rope_scaling") if isinstance(config.get("rope_scaling"), dict) else {}
    thetas = {}
    for kind in (GLOBAL, LOCAL):
        entry = parameters.get(kind) if isinstance(parameters.get(kind), dict) else {}
        entry = {**entry, **scaling}
        rope_type = entry.get("rope_type", entry.get("type", "default"))
        if rope_type != "default":
            raise CheckpointError(f"{folder.name}: rope_type {rope_type!r} (rope_parameters.{kind}) "
                                  "is not supported; only the default rotary positions are")
        theta = entry.get("rope_theta")
        if theta is None:
            theta = number(config, OLD_THETA_NAMES[kind], folder, DEFAULT_THETA[kind])
        thetas[kind] = number({f"rope_parameters.{kind}.rope_theta": theta},
                              f"rope_parameters.{kind}.rope_theta", folder)
    return thetas


def shared_bias(config: dict, folder: Path) -> bool:
    """The engine has one bias switch for attention and MLP: refuse folders that differ."""
    attention, mlp = bool(config.get("attention_bias", False)), bool(config.get("mlp_bias", False))
    if attention != mlp:
        raise CheckpointError(f"{folder.name}: attention_bias={attention} with mlp_bias={mlp} is not "
                              "supported; the engine needs both on or both off")
    return attention


def modernbert_config(folder: Path, config: dict, types: list[str], tokenizer) -> ModelConfig:
    thetas = rope_thetas(config, folder)
    local = [i for i, kind in enumerate(types) if kind == LOCAL]
    window = integer(config, "local_attention", folder, 128) // 2
    if local and window < 1:
        raise CheckpointError(f"{folder.name}: local_attention={config.get('local_attention')} "
                              "leaves no window; it must be at least 2")
    return ModelConfig(
        architecture="encoder-only",
        vocab_size=integer(config, "vocab_size", folder),
        d_model=integer(config, "hidden_size", folder),
        n_heads=integer(config, "num_attention_heads", folder),
        n_encoder_layers=len(types),
        n_decoder_layers=0,
        d_ff=integer(config, "intermediate_size", folder),
        dropout=number(config, "mlp_dropout", folder, 0.0),
        attention_dropout=number(config, "attention_dropout", folder, 0.0),
        norm_placement="pre",
        norm_eps=number(config, "norm_eps", folder, 1e-5),
        embed_norm=True,
        final_norm=True,
        norm_bias=bool(config.get("norm_bias", False)),
        bias=shared_bias(config, folder),
        activation=activation(config.get("hidden_activation", "gelu"), folder),
        gated_ffn=True,
        positions="rotary",
        max_positions=integer(config, "max_position_embeddings", folder, 8192),
        rope_theta=thetas[GLOBAL],
        local_rope_theta=thetas[LOCAL] if local else None,
        attention_window=window if local else None,
        local_layers=local if local else None,
        first_attention_norm=False,
        scale_embeddings=False,
        output_transform=True,
        output_activation=activation(config.get("classifier_activation", "gelu"), folder),
        output_transform_bias=bool(config.get("classifier_bias", False)),
        pad_token_id=token_id(config.get("pad_token_id", tokenizer.token_to_id("[PAD]"))) or 0,
        unk_token_id=tokenizer.token_to_id("[UNK]"),
        bos_token_id=token_id(config.get("cls_token_id", config.get("bos_token_id"))),
        eos_token_id=token_id(config.get("sep_token_id", config.get("eos_token_id"))),
        decoder_start_token_id=None,
        extra={"family": "modernbert", "hf_model_type": config.get("model_type"),
               "hf_architectures": config.get("architectures") or [],
               "hf_local_attention": config.get("local_attention", 128)},
    )


class _Tensors:
    """The folder's tensors under one prefix; remembers which were used, so leftovers are named."""

    def __init__(self, state: dict[str, torch.Tensor], prefix: str):
        self.state, self.prefix, self.used = state, prefix, set()

    def take(self, name: str, optional: bool = False) -> torch.Tensor | None:
        key = self.prefix + name
        if key not in self.state:
            if optional:
                return None
            raise KeyError(key)
        self.used.add(key)
        return self.state[key]


def _split(tensors: _Tensors, name: str, parts: int) -> tuple[torch.Tensor, ...]:
    """A fused tensor (``Wqkv``, ``Wi``) cut along its first axis into ``parts`` equal pieces."""
    tensor = tensors.take(name)
    if tensor.dim() < 1 or tensor.shape[0] % parts:
        raise CheckpointError(f"tensor {tensors.prefix + name!r} has shape {list(tensor.shape)}, "
                              f"which does not split into {parts} equal parts")
    return tensor.chunk(parts, dim=0)


def rename_modernbert(state: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """The engine's state dict; raises KeyError naming a missing Hugging Face tensor."""
    prefix = "model." if "model.embeddings.tok_embeddings.weight" in state else ""
    body, top = _Tensors(state, prefix), _Tensors(state, "")
    parts = ("weight", "bias") if config.bias else ("weight",)
    norm_parts = ("weight", "bias") if config.norm_bias else ("weight",)
    tokens = body.take("embeddings.tok_embeddings.weight")
    out = {"token_embedding.weight": tokens}

    def norm(source: _Tensors, hf_name: str, ours: str) -> None:
        for part in norm_parts:
            out[f"{ours}.{part}"] = source.take(f"{hf_name}.{part}")

    norm(body, "embeddings.norm", "encoder.embed_norm")
    for i in range(config.n_encoder_layers):
        source, target = f"layers.{i}", f"encoder.layers.{i}"
        if i > 0:  # layer 0 attends to the embedding norm's output directly
            norm(body, f"{source}.attn_norm", f"{target}.norm_self")
        norm(body, f"{source}.mlp_norm", f"{target}.norm_ffn")
        for part in parts:
            q, k, v = _split(body, f"{source}.attn.Wqkv.{part}", 3)
            for proj, tensor in (("q_proj", q), ("k_proj", k), ("v_proj", v)):
                out[f"{target}.self_attn.{proj}.{part}"] = tensor
            out[f"{target}.self_attn.out_proj.{part}"] = body.take(f"{source}.attn.Wo.{part}")
            activated, gate = _split(body, f"{source}.mlp.Wi.{part}", 2)
            out[f"{target}.ffn.w1.{part}"], out[f"{target}.ffn.w3.{part}"] = activated, gate
            out[f"{target}.ffn.w2.{part}"] = body.take(f"{source}.mlp.Wo.{part}")
    norm(body, "final_norm", "encoder.final_norm")
    if config.output_head:
        out["output_transform.dense.weight"] = top.take("head.dense.weight")
        if config.output_transform_bias:
            out["output_transform.dense.bias"] = top.take("head.dense.bias")
        norm(top, "head.norm", "output_transform.norm")
        # Tied folders usually leave decoder.weight out; one that keeps it may still be tied.
        if top.take("decoder.weight", optional=True) is not None:
            head = separate_head(state, "decoder.weight", tokens)
            if head is not None:
                out["lm_head.weight"] = head
        bias = top.take("decoder.bias", optional=True)
        if bias is not None:
            out["final_logits_bias"] = bias.reshape(-1)
    leftover = sorted(set(state) - body.used - top.used)
    if leftover:
        raise CheckpointError(f"unexpected tensors for this config: {', '.join(leftover[:5])}"
                              + (f" (and {len(leftover) - 5} more)" if len(leftover) > 5 else ""))
    return out


def import_modernbert(folder: Path, config: dict):
    tokenizer = tokenizer_json(folder, vocab_rows(config, folder))
    if tokenizer is None:
        raise CheckpointError(f"{folder.name}: ModernBERT needs tokenizer.json in the model folder")
    try:
        model_config = modernbert_config(folder, config, layer_types(config, folder), tokenizer)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{folder.name}: config.json is missing or has an invalid "
                              f"value ({error})") from None
    state = read_weights(folder)
    # A task model (ModernBertForSequenceClassification, ...) keeps its encoder; its pooling
    # head and classifier are no language-model head, so they are left out.
    task_head = any(name.startswith("classifier.") for name in state)
    if task_head:
        state = {k: v for k, v in state.items() if not k.startswith(("classifier.", "head."))}
        model_config.extra["task_head_left_out"] = True
    model_config.output_head = "head.dense.weight" in state
    model_config.output_transform = model_config.output_head
    try:
        renamed = rename_modernbert(state, model_config)
    except KeyError as error:
        raise CheckpointError(f"{folder.name}: missing tensor {error.args[0]!r}") from None
    except CheckpointError as error:
        raise CheckpointError(f"{folder.name}: {error}") from None
    model_config.tie_embeddings = "lm_head.weight" not in renamed
    model_config.final_logits_bias = "final_logits_bias" in renamed
    return build_model(folder, model_config, renamed, tokenizer)


HF_IMPORTERS["modernbert"] = import_modernbert
