"""Tensor renaming shared by BART and Marian: the same post-LN layer under the same names."""

from __future__ import annotations

import torch

from .hf_files import pick, separate_head

ATTENTION = {"q_proj": "q_proj", "k_proj": "k_proj", "v_proj": "v_proj", "out_proj": "out_proj"}
FFN = {"fc1": "w1", "fc2": "w2"}
# Hugging Face norm name -> the engine's norm in the same layer.
NORMS = {"self_attn_layer_norm": "norm_self", "encoder_attn_layer_norm": "norm_cross",
         "final_layer_norm": "norm_ffn"}


def rename_layer(state: dict[str, torch.Tensor], source: str, target: str,
                 cross: bool) -> dict[str, torch.Tensor]:
    """One encoder or decoder layer: ``model.encoder.layers.0.fc1.weight`` -> ``...ffn.w1.weight``."""
    out = {}
    attentions = {"self_attn": "self_attn"} | ({"encoder_attn": "cross_attn"} if cross else {})
    for hf_attention, ours in attentions.items():
        for hf_proj, proj in ATTENTION.items():
            for part in ("weight", "bias"):
                out[f"{target}.{ours}.{proj}.{part}"] = state[f"{source}.{hf_attention}.{hf_proj}.{part}"]
    for hf_fc, ours in FFN.items():
        for part in ("weight", "bias"):
            out[f"{target}.ffn.{ours}.{part}"] = state[f"{source}.{hf_fc}.{part}"]
    for hf_norm, norm in NORMS.items():
        if hf_norm == "encoder_attn_layer_norm" and not cross:
            continue
        for part in ("weight", "bias"):
            out[f"{target}.{norm}.{part}"] = state[f"{source}.{hf_norm}.{part}"]
    return out


def rename_bart_like(state: dict[str, torch.Tensor], n_encoder: int, n_decoder: int, *,
                     learned_positions: bool, embed_norm: bool) -> tuple[dict, bool]:
    """The engine's state dict for a BART or Marian checkpoint, and whether the head is tied.

    Raises KeyError naming the first Hugging Face tensor that is missing.
    """
    prefix = "model." if any(k.startswith("model.") for k in state) else ""
    tokens = pick(state, f"{prefix}shared.weight", f"{prefix}encoder.embed_tokens.weight",
                  f"{prefix}decoder.embed_tokens.weight")
    out = {"token_embedding.weight": tokens}
    for stack, count in (("encoder", n_encoder), ("decoder", n_decoder)):
        for i in range(count):
            out.update(rename_layer(state, f"{prefix}{stack}.layers.{i}", f"{stack}.layers.{i}",
                                    cross=stack == "decoder"))
        if learned_positions:
            out[f"{stack}.position_table.weight"] = state[f"{prefix}{stack}.embed_positions.weight"]
        if embed_norm:
            for part in ("weight", "bias"):
                out[f"{stack}.embed_norm.{part}"] = state[f"{prefix}{stack}.layernorm_embedding.{part}"]
    if "final_logits_bias" in state:
        out["final_logits_bias"] = state["final_logits_bias"].reshape(-1)
    head = separate_head(state, "lm_head.weight", tokens)
    if head is not None:
        out["lm_head.weight"] = head
    return out, head is None


def check_shared_tables(state: dict[str, torch.Tensor]) -> str | None:
    """A reason to refuse, when the encoder and decoder keep different token tables."""
    prefix = "model." if any(k.startswith("model.") for k in state) else ""
    encoder = state.get(f"{prefix}encoder.embed_tokens.weight")
    decoder = state.get(f"{prefix}decoder.embed_tokens.weight")
    if encoder is not None and decoder is not None and not torch.equal(encoder, decoder):
        return "the encoder and decoder have separate token tables, and the engine shares one"
    return None
