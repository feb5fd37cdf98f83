"""Position information: sinusoidal and learned tables, T5's relative bias, and attention masks."""

from __future__ import annotations

import math

import torch
from torch import nn

from .rope_scaling import scale_frequencies


def sinusoidal_table(length: int, d_model: int, layout: str = "interleaved") -> torch.Tensor:
    """``PE(pos, 2i) = sin(pos / 10000^(2i/d))``, ``PE(pos, 2i+1) = cos(...)`` as in the 2017 paper.

    ``layout="split"`` puts every sine in the first half and every cosine in the second
    (Marian's layout); the frequencies are the same.
    """
    positions = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    frequencies = torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    angles = positions * frequencies
    table = torch.zeros(length, d_model, dtype=torch.float64)
    if layout == "interleaved":
        table[:, 0::2] = torch.sin(angles)
        table[:, 1::2] = torch.cos(angles)
    else:
        half = d_model // 2
        table[:, :half] = torch.sin(angles)
        table[:, half:] = torch.cos(angles)
    return table.float()


class RelativePositionBias(nn.Module):
    """T5's bucketed relative position bias, ``[1, heads, q, k]``, computed once per stack."""

    def __init__(self, n_heads: int, n_buckets: int, max_distance: int, bidirectional: bool):
        super().__init__()
        self.n_buckets = n_buckets
        self.max_distance = max_distance
        self.bidirectional = bidirectional
        self.embedding = nn.Embedding(n_buckets, n_heads)

    def bucket(self, relative: torch.Tensor) -> torch.Tensor:
        """Map ``key - query`` offsets to bucket ids: exact for small offsets, log-spaced beyond."""
        n_buckets = self.n_buckets
        bucket = torch.zeros_like(relative)
        if self.bidirectional:
            n_buckets //= 2
            bucket = bucket + (relative > 0).long() * n_buckets
            distance = relative.abs()
        else:
            distance = -torch.clamp(relative, max=0)
        max_exact = n_buckets // 2
        is_small = distance < max_exact
        # Log-spaced buckets for distances from max_exact up to max_distance.
        log_ratio = torch.log(distance.float().clamp(min=1) / max_exact) / math.log(
            self.max_distance / max_exact
        )
        large = max_exact + (log_ratio * (n_buckets - max_exact)).long()
        large = torch.clamp(large, max=n_buckets - 1)
        return bucket + torch.where(is_small, distance, large)

    def forward(self, q_len: int, k_len: int, offset: int = 0) -> torch.Tensor:
        """Queries at positions ``offset..offset + q_len - 1`` (decoding), keys from 0."""
        device = self.embedding.weight.device
        query = torch.arange(offset, offset + q_len, device=device).unsqueeze(1)
        key = torch.arange(k_len, device=device).unsqueeze(0)
        buckets = self.bucket(key - query)
        return self.embedding(buckets).permute(2, 0, 1).unsqueeze(0)


class RotaryEmbedding(nn.Module):
    """Rotary positions (Su et al. 2021, "RoFormer"), in the half-split layout Llama, GPT-NeoX and
    ModernBERT use: the first ``dims`` of each head rotate, pairing dimension i with i + dims/2.

    It has no parameters: the angles ``pos · theta^(-2i/dims)`` are computed in float32, as the
    Hugging Face models do, and kept for the last length seen.
    """

    def __init__(self, dims: int, theta: float, scaling: dict | None = None):
        super().__init__()
        self.dims = dims
        self.theta = theta
        self.scaling = scaling  # long-context frequency scaling (engine.rope_scaling), or None
        self._cached: tuple | None = None

    def tables(self, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """``cos`` and ``sin``, each ``[length, dims]``."""
        key = (length, device)
        if self._cached is None or self._cached[0] != key:
            exponents = torch.arange(0, self.dims, 2, dtype=torch.int64, device=device).float() / self.dims
            inverse = scale_frequencies(1.0 / (self.theta ** exponents), self.scaling)
            angles = torch.arange(length, device=device).float()[:, None] * inverse[None, :]
            angles = torch.cat([angles, angles], dim=-1)
            self._cached = (key, angles.cos(), angles.sin())
        return self._cached[1], self._cached[2]

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``x`` ``[B, H, L, d_head]`` rotated by position; dimensions past ``dims`` pass through.

        ``offset``: the first position of ``x`` (a decoding step's new tokens follow the cache).
        """
        cos, sin = self.tables(offset + x.shape[-2], x.device)
        if offset:
            cos, sin = cos[offset:], sin[offset:]
        rotating, passing = x[..., :self.dims], x[..., self.dims:]
        first, second = rotating.chunk(2, dim=-1)
        rotated = rotating * cos + torch.cat([-second, first], dim=-1) * sin
        return torch.cat([rotated, passing], dim=-1) if passing.shape[-1] else rotated


def causal_mask(length: int, device: torch.device | None = None, offset: int = 0) -> torch.Tensor:
    """``[L, offset + L]`` boolean, True where key position <= query position; queries sit at
    ``offset..offset + L - 1`` (``offset`` > 0 while decoding with a cache)."""
    return torch.ones(length, offset + length, dtype=torch.bool, device=device).tril(offset)


def window_mask(q_len: int, k_len: int, window: int, causal: bool,
                device: torch.device | None = None, start: int = 0) -> torch.Tensor:
    """Local attention: query i sees keys j with ``|i - j| <= window``.

    A causal window sees the last ``window`` keys, itself included: ``0 <= i - j < window``.
    Queries sit at absolute positions ``start..start + q_len - 1``, keys at ``0..k_len - 1``.
    """
    query = torch.arange(start, start + q_len, device=device).unsqueeze(1)
    offset = query - torch.arange(k_len, device=device)
    if causal:
        return (offset >= 0) & (offset < window)
    return offset.abs() <= window
