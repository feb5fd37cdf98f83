"""Position-wise feed-forward sublayer, plain or gated."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .hooks import HookPoint


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


ACTIVATION_FUNCTIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": gelu_tanh,
    "silu": F.silu,
    "swish": F.silu,
}


class FeedForward(nn.Module):
    """``FFN(x) = w2(act(w1 x))``, or gated ``w2(act(w1 x) * w3 x)`` (GEGLU, SwiGLU, ReGLU).

    Hook points: ``hidden`` (after the activation and gate) and ``out``.
    """

    def __init__(self, d_model: int, d_ff: int, activation: str, gated: bool, bias: bool,
                 dropout: float):
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=bias)
        self.w3 = nn.Linear(d_model, d_ff, bias=bias) if gated else None
        self.w2 = nn.Linear(d_ff, d_model, bias=bias)
        self.act = ACTIVATION_FUNCTIONS[activation]
        self.dropout = nn.Dropout(dropout)
        self.hidden = HookPoint()
        self.out = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.act(self.w1(x))
        if self.w3 is not None:
            hidden = hidden * self.w3(x)
        return self.out(self.w2(self.dropout(self.hidden(hidden))))
