"""The head-importance pane: every head of a kind ablated alone, as a layers × heads heatmap."""

from __future__ import annotations

from ..state.sweep_tables import head_importance_selection, head_importance_table
from .pane import KIND_ONLY, Pane


def _widget(state):
    from ..views.head_importance_view import HeadImportanceView

    return HeadImportanceView(state)


def _figure(state):
    from ..figures import HeatmapFigure

    return HeatmapFigure(head_importance_selection(state))


def _makes_predictions(model) -> bool:
    return bool(model.config.output_head)


PANE = Pane("head-importance", "Head importance", "headImportancePane",
            "Each head ablated alone: how far the next-token distributions move (mean KL) and how "
            "often the top token changes; click a head to open it",
            _widget, _figure, head_importance_table,
            lambda state: f"{state.kind}-head-importance-{state.importance_metric}",
            selectors=KIND_ONLY, shown_for=_makes_predictions)
