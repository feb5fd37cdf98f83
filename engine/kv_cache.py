"""Keys and values kept between greedy-decoding steps, so each step computes one new position.

Decoding runs unrecorded (the trace comes from one teacher-forced pass afterwards), so the cache
never changes what a trace shows. A step then feeds the decoder only the tokens it has not seen:
positions (sinusoidal, learned, rotary, T5's relative bias, local windows) are absolute,
offset by ``DecodeCache.length``; self-attention appends its new keys and values; cross-attention
computes the encoder memory's keys and values at the first step and reuses them.
"""

from __future__ import annotations

import torch


class KeyValues:
    """One attention module's keys and values ``[B, kv_heads, length, d_head]``.

    Self-attention writes into buffers sized for the whole decode (no copy of the past per
    step); a decode longer than planned grows them. Cross-attention stores its pair once.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None
        self.length = 0

    def extend(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append a step's ``keys`` and ``values``; returns every position's so far (views)."""
        new = keys.shape[2]
        end = self.length + new
        if self.keys is None or end > self.keys.shape[2]:
            self._grow(keys, values, max(end, self.capacity, 2 * self.length))
        self.keys[:, :, self.length:end] = keys
        self.values[:, :, self.length:end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]

    def _grow(self, keys: torch.Tensor, values: torch.Tensor, size: int) -> None:
        def buffer(like: torch.Tensor, old: torch.Tensor | None) -> torch.Tensor:
            batch, heads, _, width = like.shape
            fresh = like.new_empty(batch, heads, size, width)
            if old is not None:
                fresh[:, :, :self.length] = old[:, :, :self.length]
            return fresh

        self.keys, self.values = buffer(keys, self.keys), buffer(values, self.values)

    def store(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Cross-attention's pair, computed once from the encoder memory."""
        self.keys, self.values = keys, values
        self.length = keys.shape[2]

    @property
    def stored(self) -> bool:
        return self.keys is not None


class LayerCache:
    """A decoder layer's self-attention and cross-attention caches."""

    def __init__(self, capacity: int):
        self.self_attn = KeyValues(capacity)
        self.cross_attn = KeyValues(0)


class DecodeCache:
    """Every decoder layer's cache, and how many positions the decoder has already seen."""

    def __init__(self, n_layers: int, capacity: int):
        self.layers = [LayerCache(capacity) for _ in range(n_layers)]
        self.length = 0  # the next position fed to the decoder is this one

    def advance(self, positions: int) -> None:
        self.length += positions
