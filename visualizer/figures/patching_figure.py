"""PatchingFigure: the patching pane's two maps side by side, under one title.

Left the residual map (layer × position), right the selected kind's head map (layer × head), as
the pane shows them; each panel keeps its own colour bar. The panels are laid out as the compare
figure lays out its three.
"""

from __future__ import annotations

from ..state.selection import AttentionSelection
from ..state.sweeps import PATCHING, required_result
from .compare_figure import CompareFigure
from .heatmap_figure import HeatmapFigure


class PatchingFigure(CompareFigure):
    """Draws the residual and head ``AttentionSelection``s; see ``figures.output`` for the files."""

    def __init__(self, residual: AttentionSelection, heads: AttentionSelection, title: str):
        self.title = title
        self.panels = [HeatmapFigure(residual), HeatmapFigure(heads)]


def patching_title(state) -> str:
    """"translator — activation patching: m = …, clean -1.234, corrupted -5.678"."""
    result = required_result(state, PATCHING)
    what = (f"activation patching: m = {result.metric}, clean {result.m_clean:.3f}, "
            f"corrupted {result.m_corrupted:.3f}")
    model = state.model_name()
    return f"{model} — {what}" if model else what
