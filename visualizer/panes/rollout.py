"""The rollout pane: attention rollout up to the selected layer, a heatmap like a head's."""

from __future__ import annotations

from ..state.rollout_selection import rollout_selection, rollout_table
from .pane import Pane


def _widget(state):
    from ..views.rollout_view import RolloutView

    return RolloutView(state)


def _figure(state):
    from ..figures import HeatmapFigure

    return HeatmapFigure(rollout_selection(state))


PANE = Pane("rollout", "Rollout", "rolloutPane",
            "Attention rollout (Abnar & Zuidema 2020): how much each query draws on each input token "
            "through every layer up to the selected one, residual connections counted; cross-attention "
            "rolls back to the source tokens",
            _widget, _figure, rollout_table,
            lambda state: f"{state.kind}-L{state.layer}-rollout-{state.rollout_head}",
            selectors=("kind", "layer"))  # the pane's own Heads selector fuses the heads
