"""Recording of named intermediate values: a pass-through, so outputs never depend on it."""

from __future__ import annotations

import numpy as np
import torch

from .kinds import KINDS


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


def _to_numpy(tensor: torch.Tensor):
    array = np.ascontiguousarray(tensor.float().numpy())
    array.flags.writeable = False  # views share these arrays; nobody may edit a trace
    return array


def collect(values: dict[str, torch.Tensor], kinds: tuple[str, ...], n_layers: dict[str, int]):
    """Split recorded tensors into ``(attention, activations)``, dropping the batch dimension."""
    patterns = {name: t for name, t in values.items() if name.endswith(".pattern")}
    attention = {}
    for kind in kinds:
        names = [KINDS[kind].hook.format(i) + ".pattern" for i in range(n_layers[kind])]
        if all(name in patterns for name in names):
            attention[kind] = _to_numpy(torch.stack([patterns[name][0] for name in names]))
    activations = {name: _to_numpy(t[0]) for name, t in values.items() if name not in patterns}
    return attention, activations
