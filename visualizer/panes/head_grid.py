"""The all-heads pane: every layer × head of the selected kind at once; a click opens a head."""

from __future__ import annotations

from ..export.data_files import selection_table
from ..state.selection import attention_selection, layer_masks
from .pane import Pane


def _widget(state):
    from ..views.head_grid_view import HeadGridView

    return HeadGridView(state)


def _figure(state):
    from ..figures import GridFigure

    return GridFigure(attention_selection(state), layer_masks(state))


def _data(state):
    return selection_table(attention_selection(state), all_heads=True)


PANE = Pane("all-heads", "All heads", "headGridPane",
            "Every layer and head of the selected attention kind; click one to open it",
            _widget, _figure, _data, lambda state: f"{state.kind}-all-heads")
