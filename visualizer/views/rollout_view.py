"""RolloutView: attention rollout of the selected kind and layer, drawn like a head's heatmap."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QLabel

from engine.rollout import FUSIONS

from ..state.app_state import AppState
from ..state.rollout_selection import rollout_matrix, rollout_selection, unreachable_cells
from .attention_view import AttentionView

FUSION_TIPS = {"mean": "Fuse each layer's heads by their mean (Abnar & Zuidema's default)",
               "max": "Fuse each layer's heads by their maximum, then renormalise the rows"}


class RolloutView(AttentionView):
    """The kind and layer come from the selection bar; the head fusion from this pane's selector.

    Grey cells are those no path of visible cells reaches (a decoder's future): 0 by construction.
    """

    def __init__(self, state: AppState, parent=None):
        super().__init__(state, parent)
        self.fusion_selector = QComboBox(objectName="rolloutHeadSelector")
        self.fusion_selector.addItems(FUSIONS)
        self.setObjectName("rolloutView")
        self.readout.setObjectName("rolloutReadout")  # the attention pane's stays hoverReadout
        self.value_weighted_box.hide()  # rollout multiplies the weights themselves
        controls = self.layout().itemAt(0).layout()
        controls.insertWidget(controls.count() - 1, QLabel("Heads:"))
        controls.insertWidget(controls.count() - 1, self.fusion_selector)
        self.fusion_selector.currentTextChanged.connect(lambda name: state.set_option(rollout_head=name))
        self._on_options_changed()

    def _on_options_changed(self) -> None:
        selector = getattr(self, "fusion_selector", None)
        if selector is not None:
            selector.blockSignals(True)
            selector.setCurrentText(self.state.rollout_head)
            selector.setToolTip(FUSION_TIPS.get(self.state.rollout_head, ""))
            selector.blockSignals(False)
        super()._on_options_changed()

    def shown_matrix(self) -> np.ndarray | None:
        if self.state.trace is None:
            return None
        try:
            return rollout_matrix(self.state)
        except ValueError:
            return None

    def shown_title(self) -> str:
        try:
            return rollout_selection(self.state).title
        except ValueError:
            return ""

    def shown_mask(self) -> np.ndarray | None:
        state = self.state
        return unreachable_cells(state, state.kind, state.layer)

    def cell_note(self, row: int, col: int) -> str:
        return f" (rollout, {self.state.rollout_head} of heads)"
