"""The patching pane: a clean run patched into a corrupted one, per layer × position and per head."""

from __future__ import annotations

from ..state.sweep_tables import patching_selection, patching_table
from .pane import KIND_ONLY, Pane


def _widget(state):
    from ..views.patching_view import PatchingView

    return PatchingView(state)


def _figure(state):
    from ..figures.patching_figure import PatchingFigure, patching_title

    return PatchingFigure(patching_selection(state), patching_selection(state, heads=True),
                          patching_title(state))


PANE = Pane("patching", "Patching", "patchingPane",
            "Activation patching: which layer and position of a clean run restore its output "
            "in a corrupted one (same token length), and which heads",
            _widget, _figure, patching_table, lambda state: "patching", selectors=KIND_ONLY,
            shown_for=lambda model: bool(model.config.output_head))
