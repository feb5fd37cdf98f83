"""HeadImportanceView: each head of the selected kind ablated alone, as a layers × heads map."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.kinds import KINDS, kind_title

from ..state.app_state import AppState
from ..state.sweep_tables import METRIC_TITLES, head_importance_selection
from ..state.sweeps import HEAD_IMPORTANCE, stored_result, sweep_request
from ..sweep_controller import SweepController
from ..widgets.sweep_bar import SweepBar
from . import look
from .matrix_map import MatrixMap
from .sweep_view import SweepView

NO_TRACE = "Run a sentence: each head is then ablated alone on it."
HINT = "Hover a head for its number · click it to open its attention"
METRICS = {"kl": "Mean KL (nats)", "argmax_changed": "Top token changed"}
RANKED = 5  # heads named under the map
MAP_EMPTY = "Each head's effect appears here once the sweep has run (Run sweep)"


class HeadImportanceView(SweepView):
    """Runs the sweep in the background whenever the pane is shown on an input it has not seen.

    Signals:
        headActivated(str, int, int): a head was clicked (kind, layer, head); it is now selected.
    """

    headActivated = Signal(str, int, int)

    SWEEP = HEAD_IMPORTANCE

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("headImportanceView")
        self.state = state
        self._watching_window = False
        self.controller = SweepController(self)
        self.sweep_bar = SweepBar(self.controller, "headImportance", "Run sweep")
        self.sweep_bar.run_button.setToolTip("Ablate every head alone on the input, one by one")
        self.metric_selector = QComboBox(objectName="importanceMetricSelector")
        for key, text in METRICS.items():
            self.metric_selector.addItem(text, key)
        self.metric_selector.setToolTip("Colour the heads by mean KL(full ‖ ablated), or by the share "
                                        "of positions whose top token changes")
        self.caption = QLabel(objectName="headImportanceCaption", wordWrap=True,
                              textFormat=Qt.TextFormat.PlainText)
        self.map = MatrixMap("headImportanceMap", HINT)
        self.ranking = QLabel(objectName="headImportanceRanking", wordWrap=True,
                              textFormat=Qt.TextFormat.PlainText)
        header = QHBoxLayout()
        header.addWidget(QLabel("Colour by:"))
        header.addWidget(self.metric_selector)
        header.addWidget(self.sweep_bar, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.caption)
        layout.addWidget(self.map, 1)
        layout.addWidget(self.ranking)

        self.metric_selector.currentIndexChanged.connect(
            lambda _i: state.set_option(importance_metric=self.metric_selector.currentData()))
        self.sweep_bar.run_button.clicked.connect(self.start)
        self.controller.finished.connect(self._on_sweep_finished)
        self.map.cellClicked.connect(self._on_cell_clicked)
        state.subscribe(self)
        self._on_options_changed()

    # ---- state handlers ---------------------------------------------------------------------
    def _on_trace_changed(self, _trace) -> None:
        self.redraw()
        if self.isVisible():
            self.start_if_needed()

    def _on_model_changed(self, _model) -> None:
        self.controller.cancel(quiet=True)
        self.redraw()

    def _on_selection_changed(self) -> None:
        self.redraw()

    def _on_options_changed(self) -> None:
        index = self.metric_selector.findData(self.state.importance_metric)
        self.metric_selector.blockSignals(True)
        self.metric_selector.setCurrentIndex(max(0, index))
        self.metric_selector.blockSignals(False)
        self.redraw()

    # ---- the sweep ----------------------------------------------------------------------------
    def start_if_needed(self) -> None:
        """Start a sweep for the current input unless its result is there or on its way; a sweep
        of another input still running is replaced."""
        if self.state.trace is None or stored_result(self.state, HEAD_IMPORTANCE) is not None:
            return
        try:
            key = sweep_request(self.state.core, HEAD_IMPORTANCE).key
        except ValueError:
            return
        if self.controller.running_key != key:
            self.start()

    # ---- drawing --------------------------------------------------------------------------------
    def redraw(self) -> None:
        state = self.state
        result = stored_result(state, HEAD_IMPORTANCE)
        if result is None or state.kind not in result:
            self.map.clear(MAP_EMPTY if state.trace is not None else look.placeholder(state, NO_TRACE))
            self.caption.setText(look.placeholder(state, NO_TRACE) if state.trace is None else
                                 "Each head of every kind is ablated alone on this input (its .z set "
                                 "to 0), with the target kept as the unablated run's.")
            self.ranking.setText("")
            return
        importance = result[state.kind]
        self.map.show_selection(head_importance_selection(state.core),
                                f"{kind_title(state.kind)}: {METRIC_TITLES[state.importance_metric]}")
        self.caption.setText(
            f"{kind_title(state.kind)}: each head ablated alone; {METRIC_TITLES[state.importance_metric]}"
            f", over {importance.positions} positions with logits. Heads ablated in the main view are "
            "not ablated here.")
        ranked = importance.ranking(state.importance_metric)[:RANKED]
        short = KINDS[state.kind].short
        self.ranking.setText("Most important: " + " · ".join(
            f"{short} L{layer} H{head} {value:.3g}" for layer, head, value in ranked))

    def _on_cell_clicked(self, layer: int, head: int) -> None:
        kind = self.state.kind
        self.state.set_selection(kind=kind, layer=layer, head=head)
        self.headActivated.emit(kind, layer, head)

    # ---- lifetime ---------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)  # watches the window
        self.start_if_needed()

