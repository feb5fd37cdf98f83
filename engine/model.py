"""The Transformer of "Attention Is All You Need", with every intermediate at a named hook point.

Each sublayer is ``Norm(x + Sublayer(x))`` (post-LN, the paper) or ``x + Sublayer(Norm(x))``
(pre-LN). Every tensor carries a batch dimension ``[B, L, d]``. The module tree spells the hook
names of DESIGN.md (``encoder.layers.0.resid_pre`` is ``encoder.0.resid_pre``; see hooks.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import MultiHeadAttention
from .config import ModelConfig
from .feed_forward import ACTIVATION_FUNCTIONS, FeedForward
from .hooks import HookPoint
from .norms import Norm
from .positions import (
    RelativePositionBias,
    RotaryEmbedding,
    causal_mask,
    sinusoidal_table,
    window_mask,
)


def _make_norm(config: ModelConfig) -> Norm:
    return Norm(config.d_model, config.norm_type, config.norm_eps, config.norm_bias,
                config.norm_weight_offset)


def _make_attention(config: ModelConfig, layer: int, cross: bool = False) -> MultiHeadAttention:
    rotary = None
    if config.positions == "rotary" and not cross:  # cross-attention compares no positions
        rotary = RotaryEmbedding(config.rotary_dims, config.rope_theta_of(layer),
                                 config.rope_scaling_of(layer))
    qk_norms = None
    if config.qk_norm:  # RMSNorm over d_head, shared by every head
        qk_norms = tuple(Norm(config.head_dim, "rmsnorm", config.norm_eps, bias=False,
                              offset=config.norm_weight_offset) for _ in "qk")
    return MultiHeadAttention(config.d_model, config.n_heads, config.head_dim, config.bias_of("qkv"),
                              config.scale_attention, config.attention_dropout, rotary,
                              config.kv_heads, config.bias_of("out"), qk_norms,
                              config.query_pre_attn_scalar, config.attention_softcap)


def _make_attention_norm(config: ModelConfig, layer: int) -> Norm | None:
    """The norm before self-attention; ModernBERT's first layer has none."""
    return None if layer == 0 and not config.first_attention_norm else _make_norm(config)


def _make_output_norm(config: ModelConfig) -> Norm | None:
    """A sandwich layer's norm on a sublayer's output (Gemma 2/3); None elsewhere."""
    return _make_norm(config) if config.sandwich_norms else None


def _make_ffn(config: ModelConfig) -> FeedForward:
    return FeedForward(config.d_model, config.d_ff, config.activation, config.gated_ffn,
                       config.bias_of("ffn"), config.dropout)


class Layer(nn.Module):
    """What encoder and decoder layers share: the residual connection around a sublayer."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.pre_norm = config.norm_placement == "pre"
        self.dropout = nn.Dropout(config.dropout)

    def residual(self, x: torch.Tensor, norm: Norm | None, sublayer: nn.Module, *args,
                 out_norm: Norm | None = None) -> torch.Tensor:
        """Pre-LN ``x + f(Norm(x))`` or post-LN ``Norm(x + f(x))``; ``args`` go to ``f``.

        A missing norm (ModernBERT's first attention) is the identity. A sandwich layer (Gemma)
        also normalizes the sublayer's output: ``x + OutNorm(f(Norm(x)))``.
        """
        if norm is None:
            return x + self.dropout(sublayer(x, *args))
        if self.pre_norm:
            out = sublayer(norm(x), *args)
            return x + self.dropout(out_norm(out) if out_norm is not None else out)
        return norm(x + self.dropout(sublayer(x, *args)))

    def parallel(self, x: torch.Tensor, mask, position_bias, cache=None) -> torch.Tensor:
        """GPT-NeoX's parallel block: attention and FFN both read ``x``, and both add to it.

        Summed in the Hugging Face order (ffn + attention + x), which keeps parity tight.
        """
        attention = self.dropout(self.self_attn(self.norm_self(x), None, mask, position_bias, cache))
        return self.dropout(self.ffn(self.norm_ffn(x))) + attention + x


class EncoderLayer(Layer):
    """Self-attention, then a feed-forward network, each inside a residual connection."""

    def __init__(self, config: ModelConfig, layer: int = 0):
        super().__init__(config)
        self.resid_pre = HookPoint()
        self.norm_self = _make_attention_norm(config, layer)
        self.self_attn = _make_attention(config, layer)
        self.norm_self_out = _make_output_norm(config)
        self.resid_mid = None if config.parallel_blocks else HookPoint()
        self.norm_ffn = _make_norm(config)
        self.ffn = _make_ffn(config)
        self.norm_ffn_out = _make_output_norm(config)
        self.resid_post = HookPoint()

    def forward(self, x, mask=None, position_bias=None):
        x = self.resid_pre(x)
        if self.resid_mid is None:
            return self.resid_post(self.parallel(x, mask, position_bias))
        x = self.resid_mid(self.residual(x, self.norm_self, self.self_attn, None, mask, position_bias,
                                         out_norm=self.norm_self_out))
        return self.resid_post(self.residual(x, self.norm_ffn, self.ffn, out_norm=self.norm_ffn_out))


class DecoderLayer(Layer):
    """Masked self-attention, cross-attention over the encoder output, then a feed-forward network."""

    def __init__(self, config: ModelConfig, cross_attention: bool, layer: int = 0):
        super().__init__(config)
        self.resid_pre = HookPoint()
        self.norm_self = _make_attention_norm(config, layer)
        self.self_attn = _make_attention(config, layer)
        self.norm_self_out = _make_output_norm(config)
        self.resid_mid = None if config.parallel_blocks else HookPoint()
        self.norm_cross = self.cross_attn = self.resid_cross = None
        if cross_attention:
            self.norm_cross = _make_norm(config)
            self.cross_attn = _make_attention(config, layer, cross=True)
            self.resid_cross = HookPoint()
        self.norm_ffn = _make_norm(config)
        self.ffn = _make_ffn(config)
        self.norm_ffn_out = _make_output_norm(config)
        self.resid_post = HookPoint()

    def forward(self, x, mask=None, position_bias=None, memory=None, memory_mask=None, cache=None):
        """``cache`` (an engine.kv_cache.LayerCache): ``x`` holds a decoding step's new positions."""
        self_cache, cross_cache = (cache.self_attn, cache.cross_attn) if cache is not None else (None, None)
        x = self.resid_pre(x)
        if self.resid_mid is None:  # parallel blocks have no cross-attention (a single stack)
            return self.resid_post(self.parallel(x, mask, position_bias, self_cache))
        x = self.resid_mid(self.residual(x, self.norm_self, self.self_attn, None, mask, position_bias,
                                         self_cache, out_norm=self.norm_self_out))
        if self.cross_attn is not None:
            x = self.resid_cross(self.residual(x, self.norm_cross, self.cross_attn, memory, memory_mask,
                                               None, cross_cache))
        return self.resid_post(self.residual(x, self.norm_ffn, self.ffn, out_norm=self.norm_ffn_out))


class Stack(nn.Module):
    """An encoder or decoder stack: embeddings, N layers, and an optional final norm."""

    def __init__(self, config: ModelConfig, name: str):
        super().__init__()
        self.name = name
        self.config = config
        is_decoder = name == "decoder"
        self.embed = HookPoint()  # the token embedding, after any scale
        self.position_table = None
        if config.positions == "learned":
            self.position_table = nn.Embedding(config.max_positions + config.position_offset,
                                               config.d_model)
        self.pos_embed = HookPoint() if config.positions in ("sinusoidal", "learned") else None
        self.token_type_table = self.type_embed = None
        if config.type_vocab_size:
            self.token_type_table = nn.Embedding(config.type_vocab_size, config.d_model)
            self.type_embed = HookPoint()  # segment 0's vector: one text is one segment
        self.embed_dropout = nn.Dropout(config.dropout)
        self.embed_norm = _make_norm(config) if config.embed_norm else None
        n_layers = config.n_decoder_layers if is_decoder else config.n_encoder_layers
        cross = is_decoder and config.architecture == "encoder-decoder"
        self.layers = nn.ModuleList(
            DecoderLayer(config, cross, i) if is_decoder else EncoderLayer(config, i)
            for i in range(n_layers))
        self.relative_bias = None
        if config.positions == "relative":
            self.relative_bias = RelativePositionBias(
                config.n_heads, config.relative_buckets, config.relative_max_distance,
                bidirectional=not is_decoder)
        self.final_norm = _make_norm(config) if config.has_final_norm else None

    def embeddings(self, ids: torch.Tensor, tokens: nn.Embedding, offset: int = 0) -> torch.Tensor:
        """Token embedding (scaled) plus positions, then dropout and any embedding norm.

        ``tokens`` is the token table, shared by both stacks and owned by Transformer.
        ``offset`` is the position of ``ids``' first token (a decoding step's new tokens).
        """
        x = self.embed(tokens(ids) * self.config.embedding_scale)
        length = ids.shape[1]
        if self.token_type_table is not None:  # added before positions, in BERT's order
            x = x + self.type_embed(self.token_type_table.weight[:1].expand(length, -1).unsqueeze(0))
        if self.config.positions == "sinusoidal":
            table = sinusoidal_table(offset + length, self.config.d_model, self.config.sinusoid_layout)
            x = x + self.pos_embed(table[offset:].to(x.device, x.dtype).unsqueeze(0))
        elif self.position_table is not None:
            index = torch.arange(offset, offset + length, device=ids.device) + self.config.position_offset
            x = x + self.pos_embed(self.position_table(index).unsqueeze(0))
        x = self.embed_dropout(x)
        return self.embed_norm(x) if self.embed_norm is not None else x

    def self_attention_mask(self, key_mask: torch.Tensor | None, q_len: int,
                            window: int | None, offset: int = 0) -> torch.Tensor | None:
        """Boolean ``[B or 1, 1, q, k]``: padding, causality and a local window combined.

        With ``offset`` (decoding with a cache) the queries are the last ``q_len`` of
        ``offset + q_len`` positions; one new query with no window sees every key: no mask.
        """
        causal = self.name == "decoder"
        k_len = offset + q_len
        if offset and q_len == 1 and window is None and key_mask is None:
            return None
        mask = causal_mask(q_len, offset=offset).view(1, 1, q_len, k_len) if causal else None
        if key_mask is not None and not bool(key_mask.all()):  # no padding: no mask to apply
            keys = key_mask[:, None, None, :]
            mask = keys if mask is None else mask & keys
        if window is not None:
            local = window_mask(q_len, k_len, window, causal, start=offset)
            mask = local.view(1, 1, q_len, k_len) if mask is None else mask & local
        return mask

    def forward(self, ids, tokens: nn.Embedding, key_mask=None, memory=None,
                memory_mask=None, cache=None) -> torch.Tensor:
        """``cache`` (an engine.kv_cache.DecodeCache, decoder only): ``ids`` are the tokens
        after the cached positions, and only theirs are computed."""
        offset = cache.length if cache is not None else 0
        x = self.embeddings(ids, tokens, offset)
        length = ids.shape[1]
        masks = {}  # one per distinct window: global layers share theirs, local layers theirs
        bias = None
        if self.relative_bias is not None:
            bias = self.relative_bias(length, offset + length, offset)
        cross = (memory, memory_mask) if self.name == "decoder" else ()
        for i, layer in enumerate(self.layers):
            window = self.config.window_of(i)
            if window not in masks:
                masks[window] = self.self_attention_mask(key_mask, length, window, offset)
            if cache is None:
                x = layer(x, masks[window], bias, *cross)
            else:
                x = layer(x, masks[window], bias, *cross, cache=cache.layers[i])
        if cache is not None:
            cache.advance(length)
        return self.final_norm(x) if self.final_norm is not None else x


class OutputTransform(nn.Module):
    """A BERT-style MLM head's transform: ``Norm(act(dense(x)))`` before the vocabulary projection.

    Hook points: ``hidden`` (after the activation) and the norm's own.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model, bias=config.output_transform_bias)
        self.act = ACTIVATION_FUNCTIONS[config.output_activation or config.activation]
        self.hidden = HookPoint()
        self.norm = _make_norm(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.hidden(self.act(self.dense(x))))


class Transformer(nn.Module):
    """Encoder-decoder, encoder-only or decoder-only Transformer sharing one token table."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder = Stack(config, "encoder") if config.has_encoder else None
        self.decoder = Stack(config, "decoder") if config.has_decoder else None
        self.output_transform = OutputTransform(config) if config.output_transform else None
        self.lm_head = None
        if config.output_head and not config.tie_embeddings:
            self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.final_logits_bias = None
        if config.final_logits_bias:
            self.final_logits_bias = nn.Parameter(torch.zeros(config.vocab_size))

    def encode(self, source_ids: torch.Tensor, source_mask: torch.Tensor | None = None):
        """Run the encoder; returns ``(memory, source_mask)``. Padding is where ids == pad."""
        if source_mask is None:
            source_mask = source_ids != self.config.pad_token_id
        memory = self.encoder(source_ids, self.token_embedding, source_mask)
        return memory, source_mask

    def decode(self, target_ids: torch.Tensor, memory=None, memory_mask=None,
               cache=None) -> torch.Tensor:
        """Run the decoder. Causality alone hides right padding from real positions.

        With ``cache`` (engine.kv_cache.DecodeCache) ``target_ids`` are only the new tokens.
        """
        cross_mask = None
        if memory_mask is not None and not bool(memory_mask.all()):
            cross_mask = memory_mask[:, None, None, :]
        return self.decoder(target_ids, self.token_embedding, None, memory, cross_mask, cache)

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """Final hidden state -> vocabulary scores."""
        return self.vocabulary(self.prepare_output(hidden))

    def prepare_output(self, hidden: torch.Tensor) -> torch.Tensor:
        """The output path before the vocabulary product: the output scale and any MLM
        transform (whose hook points a recorded pass records)."""
        hidden = hidden * self.config.output_scale if self.config.output_scale != 1.0 else hidden
        return self.output_transform(hidden) if self.output_transform is not None else hidden

    def vocabulary(self, hidden: torch.Tensor) -> torch.Tensor:
        """``prepare_output``'s result -> logits: the head's product, bias and any soft-cap.
        No hook point lies here, so a trace can compute it when its logits are first read."""
        weight = self.lm_head.weight if self.lm_head is not None else self.token_embedding.weight
        # The bias joins the product (addmm): one pass over the [L, vocab] result instead of two.
        logits = F.linear(hidden, weight, self.final_logits_bias)
        cap = self.config.final_logit_softcap
        return torch.tanh(logits / cap) * cap if cap is not None else logits  # Gemma

    def forward(self, source_ids=None, target_ids=None, source_mask=None) -> torch.Tensor | None:
        """Logits ``[B, L, vocab]`` for the decoder positions (or encoder, if encoder-only)."""
        memory = memory_mask = None
        if self.encoder is not None:
            memory, memory_mask = self.encode(source_ids, source_mask)
        if self.decoder is None:
            return self.project(memory) if self.config.output_head else None
        hidden = self.decode(target_ids, memory, memory_mask)
        return self.project(hidden)
