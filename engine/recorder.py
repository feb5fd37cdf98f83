"""Recording of named intermediate values: a pass-through, so outputs never depend on it."""

from __future__ import annotations

import torch


class Recorder:
    """Collects ``name -> tensor`` as the forward pass runs.

    Modules call ``rec(name, tensor)`` at each hook point. A disabled recorder stores
    nothing; either way the tensor flows on untouched, which is what keeps logits
    bit-identical with recording on and off.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.values: dict[str, torch.Tensor] = {}

    def __call__(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            self.values[name] = tensor.detach()
        return tensor


def off() -> Recorder:
    """A recorder that keeps nothing."""
    return Recorder(enabled=False)
