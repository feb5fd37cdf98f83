"""Trace: everything one forward pass recorded, as plain read-only numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

ATTENTION_HOOKS = {"encoder": "encoder.{}.self_attn", "decoder": "decoder.{}.self_attn",
                   "cross": "decoder.{}.cross_attn"}


@dataclass(frozen=True)
class Trace:
    """One recorded forward pass (batch dimension removed).

    ``attention[kind]`` is ``[layers, heads, queries, keys]``; rows are queries, columns keys.
    ``activations`` is keyed by the hook names of DESIGN.md.
    """

    source_tokens: list[str]
    target_tokens: list[str]
    predicted_tokens: list[str]
    attention: dict[str, np.ndarray]
    activations: dict[str, np.ndarray]
    logits: np.ndarray | None
    source_ids: list[int] = field(default_factory=list)
    target_ids: list[int] = field(default_factory=list)
    output_text: str = ""  # the decoded target as text, when the model decoded it
    model_name: str = ""
    ablated: tuple[tuple[str, int, int], ...] = ()
    forward_ms: float = 0.0  # the recorded teacher-forced pass
    decode_ms: float = 0.0  # greedy decoding before it, if any

    def query_tokens(self, kind: str) -> list[str]:
        """Row labels of ``attention[kind]``."""
        return self.source_tokens if kind == "encoder" else self.target_tokens

    def key_tokens(self, kind: str) -> list[str]:
        """Column labels of ``attention[kind]``."""
        return self.target_tokens if kind == "decoder" else self.source_tokens

    def hook_names(self) -> list[str]:
        return list(self.activations)


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    array = np.ascontiguousarray(tensor.float().numpy())
    array.flags.writeable = False  # views share these arrays; nobody may edit a trace
    return array


def collect(values: dict[str, torch.Tensor], kinds: tuple[str, ...], n_layers: dict[str, int]):
    """Split recorded tensors into ``(attention, activations)``, dropping the batch dimension."""
    patterns = {name: t for name, t in values.items() if name.endswith(".pattern")}
    attention = {}
    for kind in kinds:
        names = [ATTENTION_HOOKS[kind].format(i) + ".pattern" for i in range(n_layers[kind])]
        if all(name in patterns for name in names):
            attention[kind] = _to_numpy(torch.stack([patterns[name][0] for name in names]))
    activations = {name: _to_numpy(t[0]) for name, t in values.items() if name not in patterns}
    return attention, activations
