"""LayerNorm and RMSNorm written out step by step, with a hook point at every intermediate."""

from __future__ import annotations

import torch
from torch import nn

from .hooks import HookPoint


class Norm(nn.Module):
    """``output = gain * (input - mean) / std + bias`` (LayerNorm) or ``gain * input / rms`` (RMSNorm).

    ``std`` is the divisor actually used: ``sqrt(biased variance + eps)`` for LayerNorm,
    ``sqrt(mean(x^2) + eps)`` for RMSNorm. Hook points: ``input``, ``mean`` (LayerNorm only)
    and ``std``, both ``[B, pos]``, ``normalized`` (before gain and bias) and ``output``.
    The forward goes on with the hooked mean and std, so patching them takes effect.
    ``offset`` is added to the stored gain: Gemma stores ``w`` and scales by ``1 + w``.
    """

    def __init__(self, d_model: int, kind: str = "layernorm", eps: float = 1e-5, bias: bool = True,
                 offset: float = 0.0):
        super().__init__()
        self.kind = kind
        self.eps = eps
        self.offset = offset
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model)) if bias and kind == "layernorm" else None
        self.input = HookPoint()
        self.mean = HookPoint() if kind == "layernorm" else None
        self.std = HookPoint()
        self.normalized = HookPoint()
        self.output = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input(x)
        if self.mean is not None:
            centered = x - self.mean(x.mean(dim=-1)).unsqueeze(-1)
        else:
            centered = x
        std = self.std(torch.sqrt(centered.pow(2).mean(dim=-1) + self.eps)).unsqueeze(-1)
        gain = self.weight + self.offset if self.offset else self.weight
        out = self.normalized(centered / std) * gain
        if self.bias is not None:
            out = out + self.bias
        return self.output(out)
