"""The activations pane: any recorded hook (residuals, norms, q/k/v/z, FFN) as tokens × features."""

from __future__ import annotations

from ..export.data_files import DataTable
from ..state.activation_hooks import activation_selection
from ..state.activation_hooks import shown_hook as _shown_hook
from .pane import Pane


def _widget(state):
    from ..views.activation_view import ActivationView

    return ActivationView(state)


def _figure(state):
    from ..figures import HeatmapFigure

    return HeatmapFigure(activation_selection(state))


def _data(state):
    selection = activation_selection(state)
    return DataTable(selection.matrix, list(selection.query_tokens), list(selection.key_tokens),
                     selection.metadata(), corner="token \\ feature", row_pieces=selection.query_pieces)


PANE = Pane("activations", "Activations", "activationsPane",
            "Any recorded value (residual stream, norm internals, q/k/v/z, FFN) as tokens × features",
            _widget, _figure, _data, _shown_hook, selectors=())
