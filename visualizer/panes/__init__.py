"""The registry of panes: the window's tabs, in order. Adding a pane: its file, and a line here.

Importing this package never imports Qt widgets (the CLI's ``--help`` stays fast): each pane
imports its view when the window builds it.
"""

from __future__ import annotations

from . import (
    activations,
    attention,
    compare,
    depth,
    head_grid,
    head_importance,
    head_lines,
    head_stats,
    logit_lens,
    patching,
    predictions,
    rollout,
)
from .pane import Pane

PANES: tuple[Pane, ...] = (attention.PANE, head_grid.PANE, head_lines.PANE, activations.PANE, depth.PANE,
                           predictions.PANE, compare.PANE, logit_lens.PANE, rollout.PANE,
                           head_stats.PANE, head_importance.PANE, patching.PANE)


def pane_named(name: str) -> Pane:
    """The pane called ``name``; ValueError lists the names there are."""
    for pane in PANES:
        if pane.name == name:
            return pane
    raise ValueError(f"unknown view {name!r}; views: {', '.join(p.name for p in PANES)}")


__all__ = ["PANES", "Pane", "pane_named"]
