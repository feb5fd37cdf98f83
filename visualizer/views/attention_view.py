"""AttentionView: one attention matrix as a heatmap, queries as rows and keys as columns."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from engine.kinds import KINDS, head_title, kind_title
from engine.readable_tokens import at_position

from ..state.app_state import AppState
from ..state.selection import levels_for
from ..state.value_weighting import is_value_weighted, shown_attention_matrix, weighting_hover
from ..state.view_state import COLORMAPS
from . import look
from .ablation_effects_view import AblationEffectsView
from .hover_marks import HoverMarks
from .lean_layer_reader import LeanLayerReader
from .mask_overlays import MaskOverlays
from .offstage import offstage
from .token_axis import TokenAxis
from .weights_image import WeightsImage

READOUT_HINT = ("Hover a cell for its weight (grey: masked, 0 by construction) · click the heatmap, "
                "then ←/→ change the head and ↑/↓ the layer · wheel to zoom")
NAN_HINT = READOUT_HINT.replace("0 by construction)", "0 by construction; magenta: NaN, no number)")
VALUE_WEIGHTED = "value-weighted"  # short: a long title squeezes the colour bar out
HOVER_BRUSH = (255, 255, 255, 60)  # a light veil: the weights under it stay readable


class AttentionView(QWidget):
    """Heatmap of ``state.attention_matrix()`` with token axes, a colour bar and a hover readout.

    The image is fed exactly the matrix of the trace (float32, row-major), so what a user reads
    off a cell is the number the model computed. Cells a mask hides are covered by a grey overlay
    image, made once per kind and layer, so stepping through heads never rebuilds it. The image
    keeps its colourings and the axes their drawn labels, so going back to a kind, layer or head
    only paints.
    """

    reads_one_layer = True  # the selected layer: on a lean trace, read off-thread first

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("attentionView")
        self.setFocusPolicy(Qt.StrongFocus)
        self.state = state
        self._matrix: np.ndarray | None = None
        self._masked: np.ndarray | None = None  # True where a mask hides the key from the query
        self._nan: np.ndarray | None = None  # True where the weight is NaN (NaN or inf weights)
        self._queries: list[str] = []  # the readable row and column labels shown
        self._keys: list[str] = []
        self._mouse_pos: QPointF | None = None  # scene position of the mouse while over the plot
        self._stale: bool | None = None  # a redraw put off while offstage (True: reset the range too)

        self.colormap_selector = QComboBox(objectName="colormapSelector")
        self.colormap_selector.addItems(COLORMAPS)
        self.colormap_selector.setToolTip("Colormap (all are perceptually uniform)")
        self.auto_levels_box = QCheckBox("Auto levels", objectName="autoLevelsBox")
        self.auto_levels_box.setToolTip("Stretch the colours to this matrix's min..max instead of 0..1")
        self.predicted_rows_box = QCheckBox("Label rows by predicted token", objectName="predictedRowsBox")
        self.predicted_rows_box.setToolTip("Decoder rows: show the token predicted at each position")
        self.value_weighted_box = QCheckBox("Value-weighted", objectName="valueWeightedBox")
        self.value_weighted_box.setToolTip(
            "Weight each key by the length of what the head moves from it, a·‖v W_O‖ (Kobayashi et "
            "al. 2020), rows renormalised to sum to 1: keys that draw weight but carry little fade")
        self.readout = QLabel(READOUT_HINT, objectName="hoverReadout")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # Its text changes on every mouse move: a width from the text would re-lay-out (and
        # repaint) the whole window each time, and a long readout would widen it.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        self.plot_widget = pg.GraphicsLayoutWidget()
        look.style_graphics(self.plot_widget)
        self.left_axis = TokenAxis("left")
        self.bottom_axis = TokenAxis("bottom")
        self.plot = self.plot_widget.addPlot(axisItems={"left": self.left_axis, "bottom": self.bottom_axis},
                                             enableMenu=False)  # no context menus: built, never shown
        self.plot.invertY(True)  # query 0 on top, as in every attention figure
        self.plot.hideButtons()
        look.style_plot(self.plot)
        self.image_item = WeightsImage()  # colours each matrix once: switching back is free
        self.plot.addItem(self.image_item)
        self.masks = MaskOverlays(self.plot)  # above the weights, below the hover bands
        self.nan_item = look.nan_overlay()  # magenta NaN cells, over the grey ones
        self.plot.addItem(self.nan_item)
        # Bands over the row and column of a token hovered in any pane (the activation view too).
        self.row_band, self.column_band = (
            pg.LinearRegionItem(orientation=o, movable=False, brush=HOVER_BRUSH, pen=pg.mkPen(None))
            for o in ("horizontal", "vertical"))
        for band in (self.row_band, self.column_band):
            band.setZValue(10)
            band.hide()
            self.plot.addItem(band, ignoreBounds=True)
        self.color_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"),
                                         interactive=False, width=18, colorMapMenu=False)
        self.color_bar.setImageItem(self.image_item, insert_in=self.plot)
        look.style_color_bar(self.color_bar)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot_widget.viewport().installEventFilter(self)  # leaving the plot resets the readout

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Colormap:"))
        controls.addWidget(self.colormap_selector)
        controls.addWidget(self.auto_levels_box)
        controls.addWidget(self.predicted_rows_box)
        controls.addWidget(self.value_weighted_box)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.readout)
        self.ablation_effects = AblationEffectsView(state)  # shown only while heads are ablated
        layout.addWidget(self.ablation_effects)

        self.colormap_selector.currentTextChanged.connect(lambda name: state.set_option(colormap=name))
        self.auto_levels_box.toggled.connect(lambda on: state.set_option(auto_levels=on))
        self.predicted_rows_box.toggled.connect(lambda on: state.set_option(label_rows_by_prediction=on))
        self.value_weighted_box.toggled.connect(
            lambda on: state.set_option(attention_weighting="value-norm" if on else "weight"))
        # A lean trace's layer is read off the GUI thread the first time; then it draws.
        self.layer_reader = LeanLayerReader(self)
        self.layer_reader.loaded.connect(self.redraw)
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        # A token hovered in any pane is outlined here as a query row and/or key column.
        self.hover_marks = HoverMarks(state, self.plot,
                                      lambda: (KINDS[state.kind].queries, KINDS[state.kind].keys),
                                      lambda: None if self._matrix is None else self._matrix.shape)
        self._on_options_changed()
        self.redraw()

    # ---- state handlers ---------------------------------------------------------------------
    def _on_model_changed(self, _model) -> None:
        self.redraw()

    def _on_trace_changed(self, _trace) -> None:
        self.masks.clear()  # a new trace's masks and matrices are new arrays
        self.image_item.forget()
        self._masked = None
        self.redraw(reset_range=True)

    def _on_loading_changed(self, _name: str) -> None:
        self.redraw()

    def _on_selection_changed(self) -> None:
        self.redraw()

    def _on_options_changed(self) -> None:
        state = self.state
        for widget, value in ((self.colormap_selector, state.colormap),
                              (self.auto_levels_box, state.auto_levels),
                              (self.predicted_rows_box, state.label_rows_by_prediction),
                              (self.value_weighted_box, state.attention_weighting == "value-norm")):
            widget.blockSignals(True)
            widget.setCurrentText(value) if isinstance(widget, QComboBox) else widget.setChecked(value)
            widget.blockSignals(False)
        self.color_bar.setColorMap(pg.colormap.get(state.colormap))
        self.redraw()

    # ---- what is shown (a subclass, the rollout view, shows another matrix) -----------------
    def shown_matrix(self) -> np.ndarray | None:
        """The selected head's weights, or their value-weighted shares when that is on."""
        try:
            return shown_attention_matrix(self.state)
        except ValueError:  # a trace without recorded values: its weights are all there is
            return self.state.attention_matrix()

    def shown_title(self) -> str:
        state = self.state
        what = f", {VALUE_WEIGHTED}" if is_value_weighted(state) else ""
        return (f"{state.model_name()} — {kind_title(state.kind)}, layer {state.layer}, "
                f"{head_title(state.head)}{what}")

    mask_item = property(lambda self: self.masks.item)  # the grey overlay shown (no image: none)

    def shown_mask(self) -> np.ndarray | None:
        return self.state.masked_cells()

    def cell_note(self, row: int, col: int) -> str:
        """What follows a cell's number in the hover text."""
        return weighting_hover(self.state, row, col)

    # ---- drawing ----------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._stale is not None:
            self.redraw(reset_range=self._stale)

    def redraw(self, reset_range: bool = False) -> None:
        if offstage(self):  # behind another tab: draw when shown, once, whatever changed meanwhile
            self._stale = bool(self._stale) or reset_range
            return
        self._stale = None
        state = self.state
        if state.trace is not None and self.reads_one_layer and \
                not self.layer_reader.ready(state.trace, state.kind, state.layer):
            self._set_text("title", f"computing layer {state.layer}…")
            return
        matrix = self.shown_matrix()
        shape_changed = matrix is None or self._matrix is None or matrix.shape != self._matrix.shape
        self._matrix = matrix
        self._queries, self._keys = state.query_labels(), state.key_labels()
        self._update_mask()
        self._nan = self.image_item.nan_cells(matrix)
        look.set_mask_image(self.nan_item, self._nan, look.NAN_LUT)
        self._on_hover_changed(*state.hover)  # bands follow the new shape and kind
        self.predicted_rows_box.setEnabled(state.kind != "encoder")
        if matrix is None:
            self.image_item.clear()
            self.left_axis.set_tokens([])
            self.bottom_axis.set_tokens([])
            self._set_text("title", look.placeholder(state, "Run a sentence to see its attention"))
            self.refresh_readout()
            return
        image = np.ascontiguousarray(matrix, dtype=np.float32)
        # Auto levels span the weights only: a mask's zeros are not weights.
        low, high = levels_for(image, state.auto_levels, self._masked)
        self.image_item.setImage(image, autoLevels=False)
        if tuple(self.color_bar.levels()) != (low, high):  # a set redraws the bar's axis
            self.color_bar.setLevels((low, high))
        self.left_axis.set_tokens(self._queries)
        self.bottom_axis.set_tokens(self._keys)
        kind = KINDS[state.kind]
        self._set_text("left", f"query: {kind.queries} token")
        self._set_text("bottom", f"key: {kind.keys} token")
        self._set_text("title", self.shown_title())
        rows, cols = image.shape
        if reset_range or shape_changed:
            self.plot.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows)
            self.plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self.refresh_readout()

    def _set_text(self, where: str, text: str) -> None:
        """An axis label or the title, set only when it changes: each set re-lays-out the plot."""
        if where == "title":
            if self.plot.titleLabel.text != text or not self.plot.titleLabel.isVisible():
                self.plot.setTitle(text, color=look.TITLE_COLOR, size="11pt")
        elif self.plot.getAxis(where).labelText != text:
            self.plot.setLabel(where, text, color=look.TEXT_COLOR)

    def _update_mask(self) -> None:
        """Grey the masked cells; the mask depends on the kind and layer only, not on the head."""
        matrix = self._matrix
        masked = self.shown_mask() if matrix is not None else None
        if masked is not None and masked.shape != matrix.shape:
            masked = None
        if masked is self._masked:  # the state hands out one array per distinct mask
            return
        self._masked = masked
        self.masks.show(masked)

    # ---- hover -------------------------------------------------------------------------------
    def _on_hover_changed(self, side: str, position: int) -> None:
        kind = KINDS.get(self.state.kind)
        query_side, key_side = (kind.queries, kind.keys) if kind else ("", "")
        rows, cols = self._matrix.shape if self._matrix is not None else (0, 0)
        for band, axis_side, count in ((self.row_band, query_side, rows), (self.column_band, key_side, cols)):
            if side == axis_side and 0 <= position < count:
                band.setRegion((position, position + 1))
                band.show()
            else:
                band.hide()

    def cell_text(self, row: int, col: int) -> str:
        """The hover text of a cell: '"cat" #3 → "the" #0: 0.833' (3 significant digits), or
        "masked", or "NaN"; the positions tell repeated words apart."""
        cell = f"{at_position(self._queries[row], row)} → {at_position(self._keys[col], col)}"
        if self._nan is not None and self._nan[row, col]:
            return f"{cell}: NaN"
        if self._masked is not None and self._masked[row, col]:
            return f"{cell}: masked"
        return f"{cell}: {format(float(self._matrix[row, col]), '.3g')}{self.cell_note(row, col)}"

    def _hint(self) -> str:
        return NAN_HINT if self._nan is not None else READOUT_HINT

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if self._matrix is None or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        rows, cols = self._matrix.shape
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def refresh_readout(self) -> None:
        """Re-read the cell under the mouse (the matrix, kind or labels may have changed), or show
        the hint when the mouse is not over a cell: the readout never shows a stale weight."""
        if self._mouse_pos is None:
            self.readout.setText(self._hint())
            QToolTip.hideText()
            return
        self._show_cell_at(self._mouse_pos)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        self._mouse_pos = QPointF(scene_pos)
        self._show_cell_at(scene_pos)

    def _show_cell_at(self, scene_pos: QPointF) -> None:
        cell = self.cell_at(scene_pos)
        if cell is None:
            self.readout.setText(self._hint())
            QToolTip.hideText()
            self.state.set_hover("", -1)
            return
        text = self.cell_text(*cell)
        self.readout.setText(text)
        view = self.plot_widget
        QToolTip.showText(view.mapToGlobal(view.mapFromScene(scene_pos)), text, view)
        self.state.set_hover(KINDS[self.state.kind].queries, cell[0])

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Leave and self._mouse_pos is not None:
            self._mouse_pos = None
            self.refresh_readout()
            self.state.set_hover("", -1)
        return super().eventFilter(watched, event)
