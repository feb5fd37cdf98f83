"""Lean traces (engine.lean_recording): which traces are lean, and what the GUI says about them.

A lean trace's attention is not an ndarray but an array-like that replays a layer when it is
first read, which takes seconds on a large model: views read such layers off the GUI thread.
"""

from __future__ import annotations

import numpy as np

LEAN_TEXT = "large run: layers are recomputed when you open them"


def is_lean(trace) -> bool:
    """Whether ``trace`` was recorded lean: some attention stack is not a plain array."""
    return trace is not None and any(not isinstance(stack, np.ndarray)
                                     for stack in trace.attention.values())


class TraceMasks:
    """The masks a view reads (``masked_cells``, ``n_layers``, ``trace``) straight from one trace,
    without the state: a pool thread reading a lean trace's layers must not fill the state's
    caches, which belong to whatever trace is current by then."""

    def __init__(self, trace):
        self.trace = trace
        self.read: dict[tuple[str, int], np.ndarray | None] = {}  # for ViewState.remember_masks

    def n_layers(self, kind: str) -> int:
        return self.trace.attention[kind].shape[0]

    def masked_cells(self, kind: str, layer: int) -> np.ndarray | None:
        self.read[(kind, layer)] = masked = self.trace.masked_cells(kind, layer)
        return masked
