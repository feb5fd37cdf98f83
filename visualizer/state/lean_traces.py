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
