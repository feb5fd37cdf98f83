"""The compare pane: the selected head of run A and run B (another input or checkpoint), and B − A."""

from __future__ import annotations

from ..state.comparison import compare_table, compare_what, comparison
from .pane import Pane


def _widget(state):
    from ..views.compare_view import CompareView

    return CompareView(state)


def _figure(state):
    from ..figures.compare_figure import CompareFigure

    return CompareFigure(comparison(state))


PANE = Pane("compare", "Compare", "comparePane",
            "The selected head for two inputs, or two checkpoints of one architecture, side by side "
            "with their difference (B − A, red: more weight in B, blue: less)",
            _widget, _figure, compare_table, compare_what)
