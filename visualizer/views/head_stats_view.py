"""HeadStatsView: every head of a kind as a layers × heads heatmap of one statistic, and a table."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..figures.colors import colors_of
from ..state.app_state import AppState
from ..state.head_stat_table import (
    TITLES,
    HeadStatTable,
    head_stat_table,
    statistics_of,
    trace_stats,
    value_text,
)
from ..state.lean_traces import is_lean
from ..widgets.all_layers_offer import AllLayersOffer
from ..widgets.corpus_controls import CorpusControls
from . import look
from .head_stats_table_model import HeadStatsTableModel, sorting_proxy

NO_TRACE = "Run a sentence to see what each head does, or compute the statistics over a corpus."
MAX_LABELLED_HEADS = 256  # cells get their value written in them up to this many heads
READOUT_HINT = "Hover a head for its numbers · click one (or a table row) to open it · click a column to sort"


class HeadStatsView(QWidget):
    """The chosen statistic (``state.head_stat``) of every head of ``state.kind``, for the trace on
    screen or as a mean over a corpus (``state.head_stats_corpus``).

    The image is exactly the statistic's ``[layers, heads]`` array. A click on a cell or a table
    row selects that head and emits ``headActivated`` (the window then shows the attention pane).

    Signals:
        headActivated(str, int, int): (kind, layer, head) clicked.
    """

    headActivated = Signal(str, int, int)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("headStatsView")
        self.state = state
        self.table: HeadStatTable | None = None
        self._stale = True  # the view does not show the current state yet (drawn when shown)

        self.caption = QLabel(look.placeholder(state, NO_TRACE), wordWrap=True)
        self.statistic_box = QComboBox(objectName="headStatCombo")
        self.statistic_box.setToolTip("The statistic the overview is coloured by")
        self.corpus = CorpusControls(state)
        header = QHBoxLayout()
        header.addWidget(self.caption, 1)
        header.addWidget(QLabel("Colour by:"))
        header.addWidget(self.statistic_box)

        self.graphics = pg.GraphicsLayoutWidget()
        look.style_graphics(self.graphics)
        self.plot = self.graphics.addPlot(enableMenu=False)
        look.style_plot(self.plot)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setMouseEnabled(False, False)
        self.plot.showAxis("top")
        self.plot.hideAxis("bottom")
        self.plot.getAxis("top").setLabel("head")
        self.plot.getAxis("left").setLabel("layer")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.nan_image = look.nan_overlay()
        self.plot.addItem(self.nan_image)
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(state.colormap),
                                         interactive=False, width=12, colorMapMenu=False)
        self.color_bar.setImageItem(self.image, insert_in=self.plot)
        look.style_color_bar(self.color_bar)
        self.highlight = QGraphicsRectItem()
        pen = QPen(QColor(*look.HOVER_COLOR), 3)
        pen.setCosmetic(True)
        self.highlight.setPen(pen)
        self.highlight.setZValue(10)
        self.highlight.hide()
        self.plot.addItem(self.highlight)
        self.value_labels: list[pg.TextItem] = []
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.graphics.viewport().installEventFilter(self)  # leaving the plot resets the readout

        self.model = HeadStatsTableModel(self)
        self.proxy = sorting_proxy(self.model, self)
        self.table_view = QTableView(objectName="headStatsTable")
        self.table_view.setModel(self.proxy)
        self.table_view.setSortingEnabled(True)
        self.table_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.verticalHeader().hide()
        self.table_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table_view.clicked.connect(lambda index: self.activate_row(index.row()))
        self.readout = QLabel(READOUT_HINT, objectName="headStatsReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.graphics)
        splitter.addWidget(self.table_view)
        splitter.setSizes([330, 730])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.corpus)
        self.all_layers = AllLayersOffer()  # a lean trace's statistics wait for the user's go
        self.all_layers.computed.connect(self.refresh)
        layout.addWidget(self.all_layers)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.readout)

        self.statistic_box.currentIndexChanged.connect(self._on_statistic_chosen)
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self.redraw()

    # ---- public ---------------------------------------------------------------------------------
    def activate(self, layer: int, head: int) -> None:
        """Select that head of the shown kind and ask for it to be opened."""
        if self.table is None:
            return
        kind = self.table.kind
        self.state.set_selection(kind=kind, layer=layer, head=head)
        self.headActivated.emit(kind, layer, head)

    def activate_row(self, proxy_row: int) -> None:
        source = self.proxy.mapToSource(self.proxy.index(proxy_row, 0))
        if source.isValid():
            self.activate(*self.model.head(source.row()))

    def head_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(layer, head) of the cell at view coordinates (x: head, y: layer), or None."""
        if self.table is None:
            return None
        layer, head = int(np.floor(y)), int(np.floor(x))
        layers, heads = self.table.shape
        return (layer, head) if 0 <= layer < layers and 0 <= head < heads else None

    # ---- state handlers ---------------------------------------------------------------------------
    def _on_trace_changed(self, _trace) -> None:
        self.redraw()

    def _on_model_changed(self, _model) -> None:
        self.redraw()

    def _on_loading_changed(self, _name: str) -> None:
        if self.table is None:
            self.caption.setText(look.placeholder(self.state, NO_TRACE))

    def _on_selection_changed(self) -> None:
        if self.table is None or self.table.kind != self.state.kind:
            self.redraw()
        else:
            self._show_selected()

    def _on_options_changed(self) -> None:
        self.redraw()

    def _on_statistic_chosen(self, index: int) -> None:
        name = self.statistic_box.itemData(index)
        if name:
            self.state.set_option(head_stat=name)

    # ---- drawing ------------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Draw now if the pane is visible; else when it is shown (the statistics of a long input
        over many heads take a moment)."""
        self._stale = True
        if self.isVisible():
            self.refresh()
        elif self.table is None:
            self.caption.setText(look.placeholder(self.state, NO_TRACE))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Compute and draw from the state now."""
        self._stale = False
        state = self.state
        self.readout.setText(READOUT_HINT)
        self._fill_statistics()
        try:
            if self._waits_for_all_layers():
                raise ValueError("")  # the offer above says what it needs
            table = head_stat_table(state)
        except ValueError as error:
            self.table = None
            self.model.set_table(None)
            self.image.clear()
            self.nan_image.clear()
            self.highlight.hide()
            self._label_values_clear()
            self.caption.setText(look.placeholder(state, NO_TRACE) if state.trace is None else str(error))
            return
        statistics_changed = self.table is None or list(self.table.stats) != list(table.stats) \
            or self.table.shape != table.shape or self.table.statistic != table.statistic
        self.table = table
        matrix = np.ascontiguousarray(table.matrix, dtype=np.float32)
        undefined = ""
        if np.isnan(matrix).all():  # magenta everywhere would read as a fault: say why
            undefined = " — not defined for cross-attention" if table.kind == "cross" else \
                " — undefined here (no query qualifies)"
        self.caption.setText(table.title + undefined)
        self.color_bar.setColorMap(pg.colormap.get(state.colormap))
        self.image.setImage(matrix, levels=table.levels, autoLevels=False)
        self.color_bar.setLevels(table.levels)
        look.set_mask_image(self.nan_image, look.nan_cells(matrix), look.NAN_LUT)
        layers, heads = matrix.shape
        self.plot.getAxis("left").setTicks([[(i + 0.5, f"L{i}") for i in range(layers)]])
        self.plot.getAxis("top").setTicks([[(j + 0.5, f"H{j}") for j in range(heads)]])
        self.plot.setRange(QRectF(0, 0, heads, layers), padding=0.02)
        self._label_values(table)
        sort = self.table_view.horizontalHeader()
        column, order = sort.sortIndicatorSection(), sort.sortIndicatorOrder()
        self.model.set_table(table)
        if statistics_changed or column < 0:  # another statistic: sorted by it, highest first
            column, order = self.model.column_of(table.statistic), Qt.SortOrder.DescendingOrder
        self.table_view.sortByColumn(column, order)
        self._show_selected()

    def _waits_for_all_layers(self) -> bool:
        """A lean trace's statistics replay every layer: they are computed off-thread, when asked."""
        state = self.state
        trace, kind, corpus = state.trace, state.kind, state.head_stats_corpus
        if not is_lean(trace) or kind not in trace.attention or (corpus is not None and kind in corpus.stats):
            self.all_layers.hide()
            return False
        return self.all_layers.result(trace, kind, "Head statistics",
                                      lambda: trace_stats(trace, kind)) is None

    def _label_values_clear(self) -> None:
        for item in self.value_labels:
            self.plot.removeItem(item)
        self.value_labels = []

    def _label_values(self, table: HeadStatTable) -> None:
        """Each cell's value as text (light on dark colours), while the heads are few enough."""
        self._label_values_clear()
        matrix = table.matrix
        if matrix.size > MAX_LABELLED_HEADS:
            return
        luminance = colors_of(matrix, table.levels, self.state.colormap).astype(float) @ (0.299, 0.587, 0.114)
        for (layer, head), value in np.ndenumerate(matrix):
            color = (255, 255, 255) if luminance[layer, head] < 140 else look.TEXT_COLOR
            item = pg.TextItem(value_text(float(value)), color=color, anchor=(0.5, 0.5))
            item.setPos(head + 0.5, layer + 0.5)
            item.setZValue(5)
            self.plot.addItem(item, ignoreBounds=True)
            self.value_labels.append(item)

    def _fill_statistics(self) -> None:
        names = statistics_of(self.state)
        box = self.statistic_box
        if [box.itemData(i) for i in range(box.count())] != list(names):
            box.blockSignals(True)
            box.clear()
            for name in names:
                box.addItem(TITLES[name], name)
            box.blockSignals(False)
        box.blockSignals(True)
        chosen = self.state.head_stat if self.state.head_stat in names else "entropy"
        box.setCurrentIndex(list(names).index(chosen))
        box.blockSignals(False)

    def _show_selected(self) -> None:
        state, table = self.state, self.table
        if table is None or state.kind != table.kind or not isinstance(state.head, int):
            self.highlight.hide()
            return
        self.highlight.setRect(QRectF(state.head, state.layer, 1, 1))
        self.highlight.show()

    # ---- mouse ----------------------------------------------------------------------------------------
    def _cell_under(self, scene_pos) -> tuple[int, int] | None:
        if not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        return self.head_at(point.x(), point.y())

    def _on_mouse_moved(self, scene_pos) -> None:
        cell = self._cell_under(scene_pos)
        self.readout.setText(self.table.readout(*cell) if cell is not None else READOUT_HINT)

    def _on_scene_clicked(self, event) -> None:
        cell = self._cell_under(event.scenePos())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.activate(*cell)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Leave:
            self.readout.setText(READOUT_HINT)
        return super().eventFilter(watched, event)
