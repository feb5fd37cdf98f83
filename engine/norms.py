"""LayerNorm and RMSNorm written out step by step, so every intermediate can be recorded."""

from __future__ import annotations

import torch
from torch import nn

from .recorder import Recorder


class Norm(nn.Module):
    """``output = gain * (input - mean) / std + bias`` (LayerNorm) or ``gain * input / rms`` (RMSNorm).

    ``std`` is the divisor actually used: ``sqrt(biased variance + eps)`` for LayerNorm,
    ``sqrt(mean(x^2) + eps)`` for RMSNorm. Recorded: ``.input``, ``.mean`` (LayerNorm only),
    ``.std``, ``.normalized`` (before gain and bias) and ``.output``.
    """

    def __init__(self, d_model: int, kind: str = "layernorm", eps: float = 1e-5, bias: bool = True):
        super().__init__()
        self.kind = kind
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model)) if bias and kind == "layernorm" else None

    def forward(self, x: torch.Tensor, rec: Recorder, name: str) -> torch.Tensor:
        rec(f"{name}.input", x)
        if self.kind == "layernorm":
            mean = x.mean(dim=-1, keepdim=True)
            centered = x - mean
            std = torch.sqrt(centered.pow(2).mean(dim=-1, keepdim=True) + self.eps)
            rec(f"{name}.mean", mean.squeeze(-1))
        else:
            centered = x
            std = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        rec(f"{name}.std", std.squeeze(-1))
        normalized = rec(f"{name}.normalized", centered / std)
        out = normalized * self.weight
        if self.bias is not None:
            out = out + self.bias
        return rec(f"{name}.output", out)
