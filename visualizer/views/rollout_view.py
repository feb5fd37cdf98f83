"""RolloutView: attention rollout of the selected kind and layer, drawn like a head's heatmap."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QComboBox, QLabel

from engine.rollout import FUSIONS, rollout

from ..state.app_state import AppState
from ..state.lean_traces import TraceMasks, is_lean
from ..state.rollout_selection import (
    cached_rollout,
    remember_rollout,
    rollout_cost,
    rollout_key,
    rollout_matrix,
    rollout_selection,
    unreachable_cells,
)
from . import look
from .attention_view import AttentionView
from .background_result import BackgroundResult

FUSION_TIPS = {"mean": "Fuse each layer's heads by their mean (Abnar & Zuidema's default)",
               "max": "Fuse each layer's heads by their maximum, then renormalise the rows"}
# Not the attention pane's hint: its arrow keys step heads, which this tab fuses.
READOUT_HINT = "Hover a cell for its rolled-out weight (grey: masked, 0 by construction) · wheel to zoom"
SYNC_COST = 50_000_000  # multiply-adds done on the GUI thread (~0.05 s); more go to a pool


class RolloutView(AttentionView):
    """The kind and layer come from the selection bar; the head fusion from this pane's selector.

    Grey cells are those no path of visible cells reaches (a decoder's future): 0 by construction.
    On a lean trace, every layer rolled out is replayed: always on a pool thread, masks included.
    """

    reads_one_layer = False  # it reads every layer up to the selected one, off-thread when lean

    def __init__(self, state: AppState, parent=None):
        self.background = None  # made below: the base class draws once before
        super().__init__(state, parent)
        self.background = BackgroundResult(self)  # long inputs: matrix products of T × T
        self.background.ready.connect(self._on_rollout_ready)
        self.background.failed.connect(lambda _key, message: self.readout.setText(message))
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
        state = self.state
        if state.trace is None or state.kind not in state.trace.attention:
            return None
        matrix = cached_rollout(state)
        if matrix is not None or self.background is None:
            return matrix
        lean = is_lean(state.trace)
        if rollout_cost(state) <= SYNC_COST and not lean:
            return rollout_matrix(state)
        trace, key = state.trace, rollout_key(state)
        masks = TraceMasks(trace)  # a lean trace's masks are read on the pool thread too
        self.background.request((id(trace), key), lambda: (
            trace, key, rollout(trace.attention, *key),
            (unreachable_cells(masks, *key[:2]), masks.read)[1] if lean else {}))
        return None

    def redraw(self, reset_range: bool = False) -> None:
        super().redraw(reset_range)
        if self._matrix is None and self.background is not None and self.background.pending_key:
            self.plot.setTitle("Rolling out the attention of every layer…", color=look.TITLE_COLOR,
                               size="11pt")

    def _on_rollout_ready(self, _key, result) -> None:
        trace, key, matrix, masks = result
        if trace is self.state.trace and key == rollout_key(self.state):
            remember_rollout(trace, key, matrix)
            self.state.remember_masks(trace, masks)
            self.redraw(reset_range=True)

    def shown_title(self) -> str:
        try:
            return rollout_selection(self.state).title
        except ValueError:
            return ""

    def shown_mask(self) -> np.ndarray | None:
        state = self.state
        return unreachable_cells(state, state.kind, state.layer)

    def _hint(self) -> str:
        return READOUT_HINT

    def cell_note(self, row: int, col: int) -> str:
        return f" (rollout, {self.state.rollout_head} of heads)"
