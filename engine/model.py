"""The Transformer of "Attention Is All You Need", with every intermediate named and recordable.

Each sublayer is ``x + Sublayer(x)`` followed by a norm (post-LN, the paper) or
``x + Sublayer(Norm(x))`` (pre-LN). Every tensor carries a batch dimension ``[B, L, d]``.
Hook names follow DESIGN.md: ``encoder.0.resid_pre``, ``decoder.1.cross_attn.scores``, ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from .attention import MultiHeadAttention
from .config import ModelConfig
from .feed_forward import FeedForward
from .norms import Norm
from .positions import RelativePositionBias, causal_mask, sinusoidal_table, window_mask
from .recorder import Recorder

# kind -> layer -> heads whose output is zeroed
Ablation = Mapping[str, Mapping[int, frozenset[int]]]


def _make_norm(config: ModelConfig) -> Norm:
    return Norm(config.d_model, config.norm_type, config.norm_eps, config.norm_bias)


def _make_attention(config: ModelConfig) -> MultiHeadAttention:
    return MultiHeadAttention(config.d_model, config.n_heads, config.head_dim, config.bias,
                              config.scale_attention, config.attention_dropout)


class Sublayer(nn.Module):
    """Residual wrapper: post-LN ``Norm(x + f(x))`` or pre-LN ``x + f(Norm(x))``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.pre_norm = config.norm_placement == "pre"
        self.norm = _make_norm(config)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor],
                rec: Recorder, norm_name: str) -> torch.Tensor:
        if self.pre_norm:
            return x + self.dropout(f(self.norm(x, rec, norm_name)))
        return self.norm(x + self.dropout(f(x)), rec, norm_name)


class EncoderLayer(nn.Module):
    """Self-attention, then a feed-forward network, each inside a residual sublayer."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.self_attn = _make_attention(config)
        self.self_attn_sublayer = Sublayer(config)
        self.ffn = FeedForward(config.d_model, config.d_ff, config.activation, config.gated_ffn,
                               config.bias, config.dropout)
        self.ffn_sublayer = Sublayer(config)

    def forward(self, x, mask, rec: Recorder, name: str, position_bias=None, ablate=frozenset()):
        rec(f"{name}.resid_pre", x)
        x = self.self_attn_sublayer(
            x, lambda h: self.self_attn(h, h, mask, rec, f"{name}.self_attn", position_bias, ablate),
            rec, f"{name}.norm_self")
        rec(f"{name}.resid_mid", x)
        x = self.ffn_sublayer(x, lambda h: self.ffn(h, rec, f"{name}.ffn"), rec, f"{name}.norm_ffn")
        return rec(f"{name}.resid_post", x)


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder output, then a feed-forward network."""

    def __init__(self, config: ModelConfig, cross_attention: bool):
        super().__init__()
        self.self_attn = _make_attention(config)
        self.self_attn_sublayer = Sublayer(config)
        self.cross_attn = _make_attention(config) if cross_attention else None
        self.cross_attn_sublayer = Sublayer(config) if cross_attention else None
        self.ffn = FeedForward(config.d_model, config.d_ff, config.activation, config.gated_ffn,
                               config.bias, config.dropout)
        self.ffn_sublayer = Sublayer(config)

    def forward(self, x, self_mask, memory, memory_mask, rec: Recorder, name: str,
                position_bias=None, ablate_self=frozenset(), ablate_cross=frozenset()):
        rec(f"{name}.resid_pre", x)
        x = self.self_attn_sublayer(
            x, lambda h: self.self_attn(h, h, self_mask, rec, f"{name}.self_attn", position_bias,
                                        ablate_self),
            rec, f"{name}.norm_self")
        rec(f"{name}.resid_mid", x)
        if self.cross_attn is not None:
            x = self.cross_attn_sublayer(
                x, lambda h: self.cross_attn(h, memory, memory_mask, rec, f"{name}.cross_attn",
                                             None, ablate_cross),
                rec, f"{name}.norm_cross")
            rec(f"{name}.resid_cross", x)
        x = self.ffn_sublayer(x, lambda h: self.ffn(h, rec, f"{name}.ffn"), rec, f"{name}.norm_ffn")
        return rec(f"{name}.resid_post", x)


class Embedder(nn.Module):
    """Token embedding (scaled), plus sinusoidal or learned positions, plus an optional norm."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.learned_positions = None
        if config.positions == "learned":
            self.learned_positions = nn.Embedding(config.max_positions + config.position_offset,
                                                  config.d_model)
        self.norm = _make_norm(config) if config.embed_norm else None
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, tokens: nn.Embedding, rec: Recorder,
                stack: str) -> torch.Tensor:
        """``tokens`` is the token table, shared by both stacks and owned by Transformer."""
        x = rec(f"{stack}.embed", tokens(ids) * self.config.embedding_scale)
        length = ids.shape[1]
        if self.config.positions == "sinusoidal":
            table = sinusoidal_table(length, self.config.d_model, self.config.sinusoid_layout)
            x = x + rec(f"{stack}.pos_embed", table.to(x.device, x.dtype).unsqueeze(0))
        elif self.learned_positions is not None:
            index = torch.arange(length, device=ids.device) + self.config.position_offset
            x = x + rec(f"{stack}.pos_embed", self.learned_positions(index).unsqueeze(0))
        x = self.dropout(x)
        if self.norm is not None:
            x = self.norm(x, rec, f"{stack}.embed_norm")
        return x


class Stack(nn.Module):
    """An encoder or decoder stack: embeddings, N layers, and an optional final norm."""

    def __init__(self, config: ModelConfig, name: str):
        super().__init__()
        self.name = name
        self.config = config
        self.embed = Embedder(config)
        is_decoder = name == "decoder"
        n_layers = config.n_decoder_layers if is_decoder else config.n_encoder_layers
        cross = is_decoder and config.architecture == "encoder-decoder"
        self.layers = nn.ModuleList(
            DecoderLayer(config, cross) if is_decoder else EncoderLayer(config)
            for _ in range(n_layers))
        self.relative_bias = None
        if config.positions == "relative":
            self.relative_bias = RelativePositionBias(
                config.n_heads, config.relative_buckets, config.relative_max_distance,
                bidirectional=not is_decoder)
        self.final_norm = _make_norm(config) if config.has_final_norm else None

    def self_attention_mask(self, key_mask: torch.Tensor | None, q_len: int) -> torch.Tensor | None:
        """Boolean ``[B or 1, 1, q, k]``: padding, causality and the local window combined."""
        causal = self.name == "decoder"
        mask = causal_mask(q_len).view(1, 1, q_len, q_len) if causal else None
        if key_mask is not None and not bool(key_mask.all()):  # no padding: no mask to apply
            keys = key_mask[:, None, None, :]
            mask = keys if mask is None else mask & keys
        if self.config.attention_window is not None:
            window = window_mask(q_len, q_len, self.config.attention_window, causal)
            mask = window.view(1, 1, q_len, q_len) if mask is None else mask & window
        return mask

    def forward(self, ids, tokens: nn.Embedding, key_mask, rec: Recorder, ablation: Ablation,
                memory=None, memory_mask=None) -> torch.Tensor:
        x = self.embed(ids, tokens, rec, self.name)
        length = ids.shape[1]
        mask = self.self_attention_mask(key_mask, length)
        bias = self.relative_bias(length, length) if self.relative_bias is not None else None
        self_kind = self.name  # "encoder" or "decoder"
        for i, layer in enumerate(self.layers):
            name = f"{self.name}.{i}"
            ablate_self = ablation.get(self_kind, {}).get(i, frozenset())
            if self.name == "decoder":
                ablate_cross = ablation.get("cross", {}).get(i, frozenset())
                x = layer(x, mask, memory, memory_mask, rec, name, bias, ablate_self, ablate_cross)
            else:
                x = layer(x, mask, rec, name, bias, ablate_self)
        if self.final_norm is not None:
            x = self.final_norm(x, rec, f"{self.name}.final_norm")
        return x


class Transformer(nn.Module):
    """Encoder-decoder, encoder-only or decoder-only Transformer sharing one token table."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = Stack(config, "encoder") if config.has_encoder else None
        self.decoder = Stack(config, "decoder") if config.has_decoder else None
        self.lm_head = None
        if config.output_head and not config.tie_embeddings:
            self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.final_logits_bias = None
        if config.final_logits_bias:
            self.final_logits_bias = nn.Parameter(torch.zeros(config.vocab_size))

    def encode(self, source_ids: torch.Tensor, rec: Recorder, ablation: Ablation = {},
               source_mask: torch.Tensor | None = None):
        """Run the encoder; returns ``(memory, source_mask)``. Padding is where ids == pad."""
        if source_mask is None:
            source_mask = source_ids != self.config.pad_token_id
        memory = self.encoder(source_ids, self.token_embedding, source_mask, rec, ablation)
        return memory, source_mask

    def decode(self, target_ids: torch.Tensor, memory, memory_mask, rec: Recorder,
               ablation: Ablation = {}) -> torch.Tensor:
        """Run the decoder. Causality alone hides right padding from real positions."""
        cross_mask = None
        if memory_mask is not None and not bool(memory_mask.all()):
            cross_mask = memory_mask[:, None, None, :]
        return self.decoder(target_ids, self.token_embedding, None, rec, ablation, memory,
                            cross_mask)

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """Final hidden state -> vocabulary scores."""
        hidden = hidden * self.config.output_scale if self.config.output_scale != 1.0 else hidden
        weight = self.lm_head.weight if self.lm_head is not None else self.token_embedding.weight
        logits = hidden @ weight.T
        if self.final_logits_bias is not None:
            logits = logits + self.final_logits_bias
        return logits

    def forward(self, source_ids=None, target_ids=None, rec: Recorder | None = None,
                ablation: Ablation = {}, source_mask=None) -> torch.Tensor | None:
        """Logits ``[B, L, vocab]`` for the decoder positions (or encoder, if encoder-only)."""
        rec = rec if rec is not None else Recorder(enabled=False)
        memory = memory_mask = None
        if self.encoder is not None:
            memory, memory_mask = self.encode(source_ids, rec, ablation, source_mask)
        if self.decoder is None:
            return self.project(memory) if self.config.output_head else None
        hidden = self.decode(target_ids, memory, memory_mask, rec, ablation)
        return self.project(hidden)
