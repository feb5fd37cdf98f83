"""PredictionsView: a table of each position's top-k tokens with their probabilities."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..state.app_state import AppState
from ..state.prediction_rows import PredictionRows, hover_text, prediction_rows, probability_text
from . import look
from .offstage import offstage

NO_TRACE = "Run a sentence to see the model's predictions at each position."
READOUT_HINT = "Hover a row (or a token in any pane) for its top 5"
FIXED_COLUMNS = ("Position", "Token")
MAX_TOP_K = 100


class PredictionsTableModel(QAbstractTableModel):
    """Rows in ``PredictionRows.order``; columns: position, token, then one per rank."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: PredictionRows | None = None

    def set_rows(self, rows: PredictionRows | None) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        return 0 if self.rows is None or parent.isValid() else len(self.rows.order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        return 0 if self.rows is None or parent.isValid() else len(FIXED_COLUMNS) + self.rows.predictions.k

    def position(self, row: int) -> int:
        return int(self.rows.predictions.positions[self.rows.order[row]])

    def cell_text(self, row: int, column: int) -> str:
        rows, line = self.rows, self.rows.order[row]
        if column == 0:
            return str(self.position(row))
        if column == 1:
            return rows.tokens[self.position(row)]
        rank = column - len(FIXED_COLUMNS)
        return f"{rows.readable(line, rank)}  {probability_text(rows.predictions.top_probs[line, rank])}"

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if self.rows is None or not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cell_text(index.row(), index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section < len(FIXED_COLUMNS):
            return FIXED_COLUMNS[section]
        return f"#{section - len(FIXED_COLUMNS) + 1}"


class PredictionsView(QWidget):
    """Each position's likeliest tokens, in the order ``prediction_rows`` gives (masks first).

    Computed when the pane is shown (a long input over a large vocabulary is a full softmax), and
    again for each new trace while it is. Hovering a row publishes its position; a position
    hovered anywhere is selected here, and the readout lists its top 5.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("predictionsView")
        self.state = state
        self.rows: PredictionRows | None = None
        self._stale = True  # the table does not show the current trace yet
        self._hover_stale = False  # a hover came while offstage
        self._built_with = (0, False)  # the options the table was filled with

        self.caption = QLabel(look.placeholder(state, NO_TRACE), wordWrap=True)
        self.top_k_box = QSpinBox(objectName="topKSpin", minimum=1, maximum=MAX_TOP_K)
        self.top_k_box.setToolTip("How many of the likeliest tokens to list at each position")
        self.every_position_box = QCheckBox("Every position", objectName="everyPositionBox")
        self.every_position_box.setToolTip("The text has a mask: list every position, masks first")
        header = QHBoxLayout()
        header.addWidget(self.caption, 1)
        header.addWidget(QLabel("Top:"))
        header.addWidget(self.top_k_box)
        header.addWidget(self.every_position_box)

        self.model = PredictionsTableModel(self)
        self.table = QTableView(objectName="predictionsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMouseTracking(True)
        self.table.entered.connect(lambda index: self._publish(index.row()))
        self.table.viewport().installEventFilter(self)  # leaving the table ends the hover
        self.readout = QLabel(READOUT_HINT, objectName="predictionsReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.readout)

        self.top_k_box.valueChanged.connect(lambda k: state.set_option(top_k=k))
        self.every_position_box.toggled.connect(lambda on: state.set_option(predictions_every_position=on))
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self._on_options_changed()

    # ---- state handlers ---------------------------------------------------------------------
    def _on_trace_changed(self, _trace) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()
        else:
            self.caption.setText(look.placeholder(self.state, NO_TRACE))

    def _on_model_changed(self, _model) -> None:
        self._on_trace_changed(None)

    def _on_loading_changed(self, _name: str) -> None:
        if self.rows is None:
            self.caption.setText(look.placeholder(self.state, NO_TRACE))

    def _on_options_changed(self) -> None:
        for box, value in ((self.top_k_box, self.state.top_k),
                           (self.every_position_box, self.state.predictions_every_position)):
            box.blockSignals(True)
            box.setValue(value) if isinstance(box, QSpinBox) else box.setChecked(value)
            box.blockSignals(False)
        if self.rows is not None and self._built_with != self._table_options():
            self._on_trace_changed(None)

    def _on_hover_changed(self, side: str, position: int) -> None:
        if offstage(self):  # read again when shown (refresh() ends with it)
            self._hover_stale = True
            return
        self._hover_stale = False
        self.readout.setText(hover_text(self.state) or READOUT_HINT)
        rows = self.rows
        if rows is None or side != rows.side:
            self.table.clearSelection()
            return
        for row in range(self.model.rowCount()):
            if self.model.position(row) == position:
                self.table.selectRow(row)
                self.table.scrollTo(self.model.index(row, 0))
                return
        self.table.clearSelection()

    def _table_options(self) -> tuple[int, bool]:
        return self.state.top_k, self.state.predictions_every_position

    # ---- drawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fill the table from the state now (the window calls it when the pane comes to the front)."""
        self._stale = False
        state = self.state
        self._built_with = self._table_options()
        try:
            self.rows = prediction_rows(state)
        except ValueError as error:  # no trace yet, or no output head
            self.rows = None
            self.model.set_rows(None)
            self.caption.setText(look.placeholder(state, NO_TRACE) if state.trace is None else str(error))
            self.every_position_box.setEnabled(False)
            return
        self.model.set_rows(self.rows)
        masks = len(self.rows.masks)
        self.caption.setText(self.rows.title + (f" · {masks} mask{'s' * (masks != 1)} in the text"
                                                if masks else ""))
        self.every_position_box.setEnabled(bool(masks))
        self._on_hover_changed(*state.hover)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh()
        elif self._hover_stale:
            self._on_hover_changed(*self.state.hover)

    def _publish(self, row: int) -> None:
        if self.rows is not None and 0 <= row < self.model.rowCount():
            self.state.set_hover(self.rows.side, self.model.position(row))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Leave and self.rows is not None:
            self.state.set_hover("", -1)
        return super().eventFilter(watched, event)
