"""Multi-head attention with an explicit softmax, so the attention pattern is a real tensor."""

from __future__ import annotations

import math

import torch
from torch import nn

from .hooks import HookPoint
from .kv_cache import KeyValues


class MultiHeadAttention(nn.Module):
    """``MultiHead(Q, K, V) = Concat(head_1..head_h) W_O``.

    ``head_i = softmax(Q_i K_i^T / sqrt(d_k) + bias) V_i``, the softmax computed explicitly.

    Shapes carry a batch dimension throughout: inputs ``[B, L, d_model]``. Hook points:
    ``q`` (before scaling), ``k`` (both after any rotary rotation), ``v`` (``k`` and ``v`` once per
    key/value head under grouped-query attention), ``scores`` (the exact
    softmax input, masked entries -inf), ``pattern`` (the attention weights), ``z`` (per-head
    output) and ``out``.
    """

    def __init__(self, d_model: int, n_heads: int, d_head: int, bias: bool = True,
                 scale: bool = True, dropout: float = 0.0, rotary: nn.Module | None = None,
                 n_kv_heads: int | None = None, out_bias: bool | None = None,
                 qk_norms: tuple[nn.Module, nn.Module] | None = None,
                 scale_dim: float | None = None, softcap: float | None = None):
        super().__init__()
        self.rotary = rotary  # rotates q and k by position (RotaryEmbedding), or None
        # Norms over each head's q and k, before the rotation (Qwen3), or None.
        self.q_norm, self.k_norm = qk_norms if qk_norms is not None else (None, None)
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads or n_heads  # grouped-query attention when fewer
        self.d_head = d_head
        # q·k / sqrt(d_head), or / sqrt(query_pre_attn_scalar) (Gemma); T5 does not scale.
        self.scale = 1.0 / math.sqrt(scale_dim or d_head) if scale else 1.0
        self.softcap = softcap  # scores -> c·tanh(scores / c) (Gemma 2)
        inner = n_heads * d_head
        self.q_proj = nn.Linear(d_model, inner, bias=bias)
        self.k_proj = nn.Linear(d_model, self.n_kv_heads * d_head, bias=bias)
        self.v_proj = nn.Linear(d_model, self.n_kv_heads * d_head, bias=bias)
        self.out_proj = nn.Linear(inner, d_model, bias=bias if out_bias is None else out_bias)
        self.dropout = nn.Dropout(dropout)
        self.q, self.k, self.v = HookPoint(), HookPoint(), HookPoint()
        self.scores, self.pattern = HookPoint(), HookPoint()
        self.z, self.out = HookPoint(), HookPoint()

    def _split_heads(self, x: torch.Tensor, heads: int | None = None) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, heads or self.n_heads, self.d_head).transpose(1, 2)

    def _per_query_head(self, x: torch.Tensor) -> torch.Tensor:
        """Key/value heads ``[B, kv, L, d]`` repeated for their query group ``[B, H, L, d]``."""
        group = self.n_heads // self.n_kv_heads
        return x if group == 1 else x.repeat_interleave(group, dim=1)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None,
                mask: torch.Tensor | None = None,
                position_bias: torch.Tensor | None = None,
                cache: KeyValues | None = None) -> torch.Tensor:
        """Queries from ``x``; keys and values from ``memory`` (cross-attention) or ``x``.

        ``mask`` is boolean, broadcastable to ``[B, H, Lq, Lk]``, True where a key is visible.
        ``cache`` (greedy decoding): ``x`` holds only new positions, which follow the cached
        ones; self-attention appends its keys and values, cross-attention reuses the first
        step's.
        """
        keys_values = x if memory is None else memory
        q = self._split_heads(self.q_proj(x))
        if cache is not None and memory is not None and cache.stored:
            if self.q_norm is not None:
                q = self.q_norm(q)
            q, k, v = self.q(q), cache.keys, cache.values
        else:
            k = self._split_heads(self.k_proj(keys_values), self.n_kv_heads)
            if self.q_norm is not None:
                q, k = self.q_norm(q), self.k_norm(k)
            if self.rotary is not None:  # recorded after the rotation: exactly what enters q·k
                offset = cache.length if cache is not None else 0
                q, k = self.rotary(q, offset), self.rotary(k, offset)
            q, k = self.q(q), self.k(k)
            v = self.v(self._split_heads(self.v_proj(keys_values), self.n_kv_heads))
            if cache is not None and memory is None:
                k, v = cache.extend(k, v)
            elif cache is not None:
                cache.store(k, v)
        k, v = self._per_query_head(k), self._per_query_head(v)

        # Scaling q (pos x d_head) is cheaper than scaling the scores (pos x pos), and it is the
        # order torch.nn and the Hugging Face models use, which keeps parity tight.
        scaled_q = q * self.scale if self.scale != 1.0 else q
        scores = torch.matmul(scaled_q, k.transpose(-2, -1))
        if self.softcap is not None:
            scores = torch.tanh(scores / self.softcap) * self.softcap
        if position_bias is not None:
            scores = scores + position_bias
        if mask is not None:
            scores.masked_fill_(~mask, float("-inf"))
        scores = self.scores(scores)

        slot = self.pattern.out  # a recorded pass's stack of patterns (engine.pattern_stacks)
        if slot is not None and slot.shape == scores.shape:
            pattern = torch._softmax(scores, -1, False, out=slot)  # torch.softmax's own kernel
        else:
            pattern = torch.softmax(scores, dim=-1)
        if mask is not None:
            blind = ~mask.any(dim=-1, keepdim=True)  # mask-sized: cheap to check
            if bool(blind.any()):
                # A query that sees no key at all (a padding row) gets zeros, not NaN.
                pattern = pattern.masked_fill(blind, 0.0)
        pattern = self.pattern(pattern)

        z = self.z(torch.matmul(self.dropout(pattern), v))
        batch, _, length, _ = z.shape
        merged = z.transpose(1, 2).reshape(batch, length, self.n_heads * self.d_head)
        return self.out(self.out_proj(merged))
