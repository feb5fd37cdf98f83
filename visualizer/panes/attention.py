"""The attention pane: the selected head (or the mean/max of heads) as a heatmap."""

from __future__ import annotations

from ..export.data_files import selection_table
from ..state.selection import attention_selection
from .pane import Pane, selection_what


def _widget(state):
    from ..views.attention_view import AttentionView

    return AttentionView(state)


def _figure(state):
    from ..figures import HeatmapFigure

    return HeatmapFigure(attention_selection(state))


def _data(state):
    return selection_table(attention_selection(state))


PANE = Pane("attention", "Attention", "attentionPane",
            "One head's attention weights: queries down the side, keys along the bottom",
            _widget, _figure, _data, selection_what)
