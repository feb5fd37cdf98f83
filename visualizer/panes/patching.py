"""The patching pane: a clean run patched into a corrupted one, per layer × position and per head."""

from __future__ import annotations

from ..state.sweep_tables import patching_selection, patching_table
from .pane import Pane


def _widget(state):
    from ..views.patching_view import PatchingView

    return PatchingView(state)


def _figure(state):
    from ..figures import HeatmapFigure

    return HeatmapFigure(patching_selection(state))


PANE = Pane("patching", "Patching", "patchingPane",
            "Activation patching: which layer and position of a clean run restore its output "
            "in a corrupted one (same token length), and which heads",
            _widget, _figure, patching_table, lambda state: "patching",
            shown_for=lambda model: bool(model.config.output_head))
