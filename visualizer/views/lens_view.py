"""LensView: the logit lens as a layers × positions heatmap, each cell labelled with its top token."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.logit_lens import logit_lens

from ..figures.colors import colors_of
from ..state.app_state import AppState
from ..state.lens_grid import LensGrid, cached_lens, lens_cost, lens_grid, makes_lens, remember_lens
from . import look
from .background_result import BackgroundResult
from .hover_marks import HoverMarks
from .token_axis import TokenAxis, shorten

NO_TRACE = "Run a sentence to read its layers through the model's output head."
READOUT_HINT = "Hover a cell: the layer's top token and probability, and the true next token's"
PANE_NAME = "logit-lens"  # computed while this pane is in front (or shown)
COMPUTING = "Reading every layer through the output head…"
SYNC_COST = 20_000_000  # vocabulary scores computed on the GUI thread (~0.1 s); more go to a pool
MAX_CELL_CHARS = 8  # the longest token text a cell shows
MAX_TEXT_CELLS = 1500  # cell labels beyond this would be unreadable and slow: colours only


class LensView(QWidget):
    """Rows are the residual stream entering layer 0 and after each layer; columns positions.

    Computed when the pane comes to the front, and again for each new trace while it is (each row is a
    full projection onto the vocabulary). The checkbox colours by the true next token's
    probability instead of the top token's; cells without a true token are grey.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lensView")
        self.state = state
        self.grid: LensGrid | None = None
        self._stale = True
        self._texts: list[pg.TextItem] = []
        self._mouse_pos: QPointF | None = None
        self._built_with = ("", "")  # (lens_color, colormap) the grid was drawn with
        self.background = BackgroundResult(self)  # long inputs over large vocabularies
        self.background.ready.connect(self._on_lens_ready)
        self.background.failed.connect(lambda _key, message: self.caption.setText(message))

        self.caption = QLabel(look.placeholder(state, NO_TRACE), wordWrap=True)
        self.target_box = QCheckBox("Colour by the true next token", objectName="lensTargetBox")
        self.target_box.setToolTip("Colour each cell by the probability that layer gives the token "
                                   "that actually comes next, instead of its top token's")
        header = QHBoxLayout()
        header.addWidget(self.caption, 1)
        header.addWidget(self.target_box)

        self.plot_widget = pg.GraphicsLayoutWidget()
        look.style_graphics(self.plot_widget)
        self.left_axis, self.bottom_axis = TokenAxis("left"), TokenAxis("bottom")
        self.plot = self.plot_widget.addPlot(axisItems={"left": self.left_axis, "bottom": self.bottom_axis},
                                             enableMenu=False)
        self.plot.invertY(True)  # the embeddings on top, the output at the bottom
        self.plot.hideButtons()
        look.style_plot(self.plot)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        self.mask_item = look.mask_overlay()
        self.plot.addItem(self.mask_item)
        self.color_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(state.colormap),
                                         interactive=False, width=18, colorMapMenu=False)
        self.color_bar.setImageItem(self.image_item, insert_in=self.plot)
        look.style_color_bar(self.color_bar)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.vb.sigResized.connect(self._fit_texts)  # cells change width with the window
        self.plot_widget.viewport().installEventFilter(self)
        self.hover_marks = HoverMarks(state, self.plot, lambda: ("", self.grid.side if self.grid else ""),
                                      lambda: None if self.grid is None else self.grid.matrix.shape)
        self.readout = QLabel(READOUT_HINT, objectName="lensReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.readout)

        self.target_box.toggled.connect(lambda on: state.set_option(lens_color="target" if on else "top"))
        state.subscribe(self)
        self._on_options_changed()

    # ---- state handlers ---------------------------------------------------------------------
    def _on_trace_changed(self, _trace) -> None:
        self._stale = True
        if self.isVisible() or self.state.front_pane == PANE_NAME:
            self.refresh()
        else:
            self.caption.setText(look.placeholder(self.state, NO_TRACE))

    def _on_model_changed(self, _model) -> None:
        self._on_trace_changed(None)

    def _on_pane_changed(self, name: str) -> None:
        if name == PANE_NAME and self._stale:
            self.refresh()

    def _on_options_changed(self) -> None:
        state = self.state
        self.target_box.blockSignals(True)
        self.target_box.setChecked(state.lens_color == "target")
        self.target_box.blockSignals(False)
        self.color_bar.setColorMap(pg.colormap.get(state.colormap))
        if self.grid is not None and self._built_with != (state.lens_color, state.colormap):
            self._on_trace_changed(None)  # new colours, and text colours that read on them

    # ---- drawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Compute and draw the lens of the state's trace now (the pane came to the front)."""
        self._stale = False
        self._built_with = (self.state.lens_color, self.state.colormap)
        for item in self._texts:
            self.plot.removeItem(item)
        self._texts = []
        state = self.state
        if self._computes_elsewhere():
            trace, model = state.trace, state.model
            self.grid = None
            self._clear()
            self.caption.setText(COMPUTING)
            self.background.request((id(trace), id(model)), lambda: (trace, model, logit_lens(model, trace)))
            return
        try:
            self.grid = lens_grid(state)
        except ValueError as error:  # no trace yet, or no output head
            self.grid = None
            self._clear()
            self.caption.setText(look.placeholder(self.state, NO_TRACE) if self.state.trace is None
                                 else str(error))
            self.refresh_readout()
            return
        grid = self.grid
        image = np.ascontiguousarray(np.nan_to_num(grid.matrix, nan=0.0), dtype=np.float32)
        self.image_item.setImage(image, autoLevels=False)
        self.color_bar.setLevels((0.0, 1.0))
        look.set_mask_image(self.mask_item, grid.masked)
        self.left_axis.set_tokens(grid.rows)
        self.bottom_axis.set_tokens(grid.positions)
        self.plot.setLabel("left", "residual stream read", color=look.TEXT_COLOR)
        self.plot.setLabel("bottom", "position (predicting the token after it)" if grid.side == "target"
                           else "position", color=look.TEXT_COLOR)
        self.caption.setText(grid.title)
        rows, cols = image.shape
        self.plot.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows)
        self.plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        if rows * cols <= MAX_TEXT_CELLS:
            self._label_cells(grid, image)
        self.refresh_readout()

    def _computes_elsewhere(self) -> bool:
        state = self.state
        return (state.trace is not None and state.model is not None and makes_lens(state.model)
                and cached_lens(state) is None and lens_cost(state) > SYNC_COST)

    def _on_lens_ready(self, _key, result) -> None:
        trace, model, lens = result
        if trace is self.state.trace and model is self.state.model:
            remember_lens(trace, model, lens)
            self.refresh()

    def _clear(self) -> None:
        self.image_item.clear()
        look.set_mask_image(self.mask_item, None)
        self.left_axis.set_tokens([])
        self.bottom_axis.set_tokens([])

    def _label_cells(self, grid: LensGrid, image: np.ndarray) -> None:
        rgb = colors_of(image, (0.0, 1.0), self.state.colormap, grid.masked).astype(np.float64)
        dark = rgb @ np.array([0.299, 0.587, 0.114]) < 140  # light text on dark cells
        for r, row in enumerate(grid.top):
            for c, token in enumerate(row):
                item = pg.TextItem("", color="w" if dark[r, c] else "k", anchor=(0.5, 0.5))
                item.token = token
                item.setPos(c + 0.5, r + 0.5)
                item.setZValue(5)
                self.plot.addItem(item, ignoreBounds=True)
                self._texts.append(item)
        self._fit_texts()

    def _fit_texts(self, *_args) -> None:
        """Each cell's token cut to what its width holds, so neighbouring tokens never run into
        each other."""
        if not self._texts or self.grid is None:
            return
        room = self.plot.vb.width() / max(self.grid.matrix.shape[1], 1) - 4
        metrics = QFontMetricsF(self._texts[0].textItem.font())
        for item in self._texts:
            shown = metrics.elidedText(shorten(item.token, MAX_CELL_CHARS), Qt.TextElideMode.ElideRight, room)
            # A lone ellipsis says nothing; Qt returns a short token whole even where it overflows.
            fits = shown != "…" and metrics.horizontalAdvance(shown) <= room
            item.setText(shown if fits else "")

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    # ---- hover -------------------------------------------------------------------------------
    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if self.grid is None or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        rows, cols = self.grid.matrix.shape
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def refresh_readout(self) -> None:
        cell = self.cell_at(self._mouse_pos) if self._mouse_pos is not None else None
        self.readout.setText(self.grid.cell_text(*cell) if cell is not None else READOUT_HINT)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        self._mouse_pos = QPointF(scene_pos)
        self.refresh_readout()
        cell = self.cell_at(scene_pos)
        self.state.set_hover(self.grid.side if cell else "", cell[1] if cell else -1)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Leave and self._mouse_pos is not None:
            self._mouse_pos = None
            self.refresh_readout()
            self.state.set_hover("", -1)
        return super().eventFilter(watched, event)
