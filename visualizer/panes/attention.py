"""The attention pane: the selected head (or the mean/max of heads) as a heatmap, its weights or
their value-weighted shares."""

from __future__ import annotations

from ..state.value_weighting import is_value_weighted, shown_selection, shown_table
from .pane import Pane, selection_what


def _widget(state):
    from ..views.attention_view import AttentionView

    return AttentionView(state)


def _figure(state):
    from ..figures import HeatmapFigure

    return HeatmapFigure(shown_selection(state))


def _what(state):
    return selection_what(state) + ("-value-weighted" if is_value_weighted(state) else "")


PANE = Pane("attention", "Attention", "attentionPane",
            "One head's attention weights: queries down the side, keys along the bottom",
            _widget, _figure, shown_table, _what)
