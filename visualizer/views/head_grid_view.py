"""HeadGridView: every layer x head attention pattern of one kind, as a single raster mosaic."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from engine.kinds import KINDS, kind_title
from engine.readable_tokens import at_position

from ..state.app_state import AppState
from ..state.lean_traces import TraceMasks, is_lean
from ..state.selection import levels_for
from ..widgets.all_layers_offer import AllLayersOffer
from . import look
from .head_mosaic import build_mosaic, pool_masks, pool_patterns
from .offstage import offstage

NO_TRACE = "Run a sentence to see every head."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class HeadGridView(QWidget):
    """A layers x heads grid of attention thumbnails (like BertViz's model view, but raster).

    One ImageItem holds the whole mosaic, so 12 x 12 heads at 512 tokens draws in one pass.
    Thumbnails are max-pooled down to ``thumbnail_side`` pixels. A second, indexed image greys
    the cells a mask hides (a pooled block when all of its cells are hidden).

    Signals:
        headActivated(str, int, int): (kind, layer, head) of a clicked thumbnail.
    """

    headActivated = Signal(str, int, int)

    def __init__(self, state: AppState, parent: QWidget | None = None, thumbnail_side: int = 96):
        super().__init__(parent)
        self.setObjectName("headGridView")
        self.state = state
        self.thumbnail_side = thumbnail_side
        self.mosaic: np.ndarray | None = None
        self.masked: np.ndarray | None = None  # True where the mosaic pixel is masked, or None
        self.nan: np.ndarray | None = None  # True where the mosaic pixel is NaN (not a gap), or None
        self.tile_shape = (0, 0)  # (rows, cols) of one thumbnail in mosaic pixels
        self.gap = 1
        self._shown_kind = ""
        self._dirty = True
        self._hover_stale = False  # a hover came while offstage
        self._mosaics: dict[str, tuple] = {}  # kind -> (tile shape, gap, mosaic, masked, nan) of the trace

        # The kind, layer and head selectors live in the window's selection bar, above the tabs.
        self.caption = QLabel(look.placeholder(state, NO_TRACE))
        self.caption.setWordWrap(True)

        self.graphics = pg.GraphicsLayoutWidget()
        look.style_graphics(self.graphics)
        self.plot = self.graphics.addPlot(enableMenu=False)
        look.style_plot(self.plot)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.showAxis("top")
        self.plot.hideAxis("bottom")
        self.plot.getAxis("top").setLabel("head")
        self.plot.getAxis("left").setLabel("layer")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.mask_image = look.mask_overlay()
        self.plot.addItem(self.mask_image)
        self.nan_image = look.nan_overlay()  # the gaps between tiles are NaN too: this shows real ones
        self.plot.addItem(self.nan_image)
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(state.colormap),
                                         interactive=False, width=12)
        self.color_bar.setImageItem(self.image, insert_in=self.plot)
        look.style_color_bar(self.color_bar)
        self.highlight = QGraphicsRectItem()
        pen = QPen(QColor(*look.SELECTED_COLOR), 2)  # drawn in the white gaps around the tile
        pen.setCosmetic(True)  # two screen pixels at any zoom, not two mosaic pixels
        self.highlight.setPen(pen)
        self.highlight.setZValue(10)
        self.highlight.hide()
        self.plot.addItem(self.highlight)
        # The hovered token's row (as a query) and column (as a key) in every thumbnail.
        self.hover_marks = pg.PlotDataItem(pen=pg.mkPen((*look.HOVER_COLOR, 230), width=1), connect="finite")
        self.hover_marks.setZValue(9)
        self.plot.addItem(self.hover_marks)
        self.pool_factors = (1, 1)  # mosaic pixel = this many queries x keys
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_hovered)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        # A lean trace's every layer is recomputed for the grid only when the user asks.
        self.all_layers = AllLayersOffer()
        self.all_layers.computed.connect(self.refresh)
        layout.addWidget(self.all_layers)
        layout.addWidget(self.graphics, 1)

        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self._on_trace_changed(state.trace)

    # ---- public --------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild the mosaic now (the view otherwise waits until it is visible)."""
        self._dirty = False
        self._draw()

    def tile_origin(self, layer: int, head: int) -> tuple[int, int]:
        """(row, col) of a thumbnail's top-left pixel in the mosaic."""
        rows, cols = self.tile_shape
        return layer * (rows + self.gap), head * (cols + self.gap)

    def thumbnail(self, layer: int, head: int) -> np.ndarray:
        """The pixels the grid shows for one head (the pooled pattern)."""
        row, col = self.tile_origin(layer, head)
        rows, cols = self.tile_shape
        return self.mosaic[row: row + rows, col: col + cols]

    def head_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(layer, head) under a point in mosaic coordinates, or None over a gap or outside."""
        if self.mosaic is None:
            return None
        rows, cols = self.tile_shape
        layer, row_in = divmod(math.floor(y), rows + self.gap)
        head, col_in = divmod(math.floor(x), cols + self.gap)
        if not (0 <= layer < self.state.n_layers(self._shown_kind) and 0 <= head < self.state.n_heads()):
            return None
        if row_in >= rows or col_in >= cols:
            return None
        return layer, head

    # ---- state handlers ------------------------------------------------------
    def _on_trace_changed(self, trace) -> None:
        self._mosaics = {}
        self._schedule_draw()

    def _on_selection_changed(self) -> None:
        if self.state.kind != self._shown_kind:
            self._schedule_draw()
        else:
            self._place_highlight()

    def _on_options_changed(self) -> None:
        self._apply_colors()

    def _on_loading_changed(self, _name: str) -> None:
        if self.state.trace is None:
            self.caption.setText(look.placeholder(self.state, NO_TRACE))

    def _on_hover_changed(self, side: str, position: int) -> None:
        if offstage(self):  # marked when shown: _draw ends by marking the hover, refresh() or not
            self._hover_stale = True
            return
        self._hover_stale = False
        if self.mosaic is None or position < 0:
            self.hover_marks.setData([], [])
            return
        kind = self._shown_kind
        rows, cols = self.tile_shape
        layers, heads = self.state.n_layers(kind), self.state.n_heads()
        origins = np.array([self.tile_origin(layer, head) for layer in range(layers)
                            for head in range(heads)], dtype=float)
        segments = []  # (x0, y0, x1, y1) relative to each tile's top-left corner
        if side == KINDS[kind].queries and position // self.pool_factors[0] < rows:
            y = position // self.pool_factors[0] + 0.5
            segments.append((0, y, cols, y))
        if side == KINDS[kind].keys and position // self.pool_factors[1] < cols:
            x = position // self.pool_factors[1] + 0.5
            segments.append((x, 0, x, rows))
        xs, ys = [], []
        for x0, y0, x1, y1 in segments:
            xs.append(np.stack([origins[:, 1] + x0, origins[:, 1] + x1, np.full(len(origins), np.nan)], 1))
            ys.append(np.stack([origins[:, 0] + y0, origins[:, 0] + y1, np.full(len(origins), np.nan)], 1))
        if not segments:
            self.hover_marks.setData([], [])
            return
        self.hover_marks.setData(np.concatenate(xs).ravel(), np.concatenate(ys).ravel(), connect="finite")

    # ---- drawing ---------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._dirty:
            self.refresh()
        elif self._hover_stale:
            self._on_hover_changed(*self.state.hover)

    def _schedule_draw(self) -> None:
        # A hidden tab skips the work: the grid is the costliest view at long sequences.
        if self.isVisible():
            self.refresh()
        else:
            self._dirty = True

    def _draw(self) -> None:
        state = self.state
        stack = state.trace.attention.get(state.kind) if state.trace is not None else None
        self._shown_kind = state.kind if stack is not None else ""
        if stack is None:
            self.mosaic = self.masked = self.nan = None
            self.image.clear()
            self.mask_image.clear()
            self.nan_image.clear()
            self.highlight.hide()
            self.hover_marks.setData([], [])
            self.caption.setText(look.placeholder(state, NO_TRACE) if state.trace is None
                                 else f"This model has no {state.kind} attention.")
            return
        if state.kind not in self._mosaics and is_lean(state.trace):
            trace, kind = state.trace, state.kind
            masks = TraceMasks(trace)  # read on the pool thread with the patterns
            done = self.all_layers.result(trace, kind, "The all-heads grid",
                                          lambda: (self._mosaic_entry(kind, stack, masks), masks.read))
            if done is None:
                self.mosaic = self.masked = self.nan = None
                self.image.clear()
                self.mask_image.clear()
                self.nan_image.clear()
                self.highlight.hide()
                self.hover_marks.setData([], [])
                self.caption.setText(f"{kind_title(kind)}: {_count(stack.shape[0], 'layer')} × "
                                     f"{_count(stack.shape[1], 'head')}.")
                return
            self._mosaics[kind], read = done
            state.remember_masks(trace, read)  # the attention tab's masks need no replay then
        self.all_layers.hide()
        if state.kind not in self._mosaics:  # switching kinds back and forth costs nothing
            self._mosaics[state.kind] = self._mosaic_entry(state.kind, stack, state)
        self.tile_shape, self.gap, self.mosaic, self.masked, self.nan = self._mosaics[state.kind]
        self.pool_factors = (math.ceil(stack.shape[2] / self.thumbnail_side),
                             math.ceil(stack.shape[3] / self.thumbnail_side))
        self.image.setImage(self.mosaic, autoLevels=False)
        look.set_mask_image(self.mask_image, self.masked)
        look.set_mask_image(self.nan_image, self.nan, look.NAN_LUT)
        self._apply_colors()
        self._set_axis_ticks(stack.shape[0], stack.shape[1])
        self.plot.getViewBox().autoRange(padding=0.02)
        pooled = "" if self.tile_shape == stack.shape[2:] else (
            f" Thumbnails show block maxima ({stack.shape[2]}×{stack.shape[3]} → "
            f"{self.tile_shape[0]}×{self.tile_shape[1]}).")
        self.caption.setText(f"{kind_title(state.kind)}: "
                             f"{_count(stack.shape[0], 'layer')} × {_count(stack.shape[1], 'head')}; "
                             "rows are queries, "
                             f"columns keys. Click a head to open it.{pooled}"
                             + (" Grey: masked (0 by construction)." if self.masked is not None else "")
                             + (" Magenta: NaN (no number)." if self.nan is not None else ""))
        self._place_highlight()
        self._on_hover_changed(*state.hover)

    def _mosaic_entry(self, kind: str, stack, masks) -> tuple:
        """(tile shape, gap, mosaic, masked, nan) of a kind; ``masks`` has ``masked_cells`` (the
        state, or a lean trace's TraceMasks on a pool thread)."""
        if isinstance(masks, TraceMasks):  # a lean trace: replay each layer once, for both
            read = [(pool_patterns(np.asarray(stack[i])[None], self.thumbnail_side),
                     masks.masked_cells(kind, i)) for i in range(stack.shape[0])]
            tiles, layer_masks = np.concatenate([tile for tile, _ in read]), [m for _, m in read]
        else:
            tiles = pool_patterns(stack, self.thumbnail_side)
            layer_masks = [masks.masked_cells(kind, layer) for layer in range(stack.shape[0])]
        gap = max(1, round(max(tiles.shape[2:]) / 16))
        nan = look.nan_cells(tiles)  # a pooled block holding a NaN is NaN
        nan_mosaic = None if nan is None else build_mosaic(nan.astype(np.float32), gap) == 1
        return (tiles.shape[2:], gap, build_mosaic(tiles, gap),
                self._masked_mosaic(stack.shape, gap, layer_masks), nan_mosaic)

    def _masked_mosaic(self, shape: tuple, gap: int, masks: list) -> np.ndarray | None:
        """Each layer's masked cells (every head of a layer shares them), laid out as the mosaic."""
        layers, heads, queries, keys = shape
        if all(mask is None for mask in masks):
            return None
        stacked = np.zeros((layers, queries, keys), dtype=bool)
        for layer, mask in enumerate(masks):
            if mask is not None:
                stacked[layer] = mask
        pooled = pool_masks(stacked, self.thumbnail_side).astype(np.float32)
        tiles = np.broadcast_to(pooled[:, None], (layers, heads, *pooled.shape[1:]))
        return build_mosaic(tiles, gap) == 1  # the gaps (NaN) are not masked

    def _set_axis_ticks(self, layers: int, heads: int) -> None:
        rows, cols = self.tile_shape
        self.plot.getAxis("left").setTicks([[((rows + self.gap) * i + rows / 2, str(i))
                                             for i in range(layers)], []])
        self.plot.getAxis("top").setTicks([[((cols + self.gap) * h + cols / 2, str(h))
                                            for h in range(heads)], []])

    def _apply_colors(self) -> None:
        colormap = pg.colormap.get(self.state.colormap)
        self.color_bar.setColorMap(colormap)
        levels = (0.0, 1.0)
        if self.mosaic is not None:  # auto levels span the weights: not the gaps, not masked cells
            levels = levels_for(self.mosaic, self.state.auto_levels, self.masked)
        self.color_bar.setLevels(levels)

    def _place_highlight(self) -> None:
        state = self.state
        if self.mosaic is None or not 0 <= state.layer < state.n_layers(self._shown_kind):
            self.highlight.hide()
            return
        rows, cols = self.tile_shape
        row, col = self.tile_origin(state.layer, 0)
        if isinstance(state.head, int):
            row, col = self.tile_origin(state.layer, state.head)
            width = cols
        else:  # mean / max: the whole layer is selected
            width = self.mosaic.shape[1]
        self.highlight.setRect(QRectF(col - 0.5, row - 0.5, width + 1, rows + 1))
        self.highlight.show()

    # ---- mouse -----------------------------------------------------------------
    def _mosaic_point(self, scene_pos):
        point = self.image.mapFromScene(scene_pos)
        return point.x(), point.y()

    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self.head_at(*self._mosaic_point(event.scenePos()))
        if hit is None:
            return
        layer, head = hit
        self.state.set_selection(kind=self._shown_kind, layer=layer, head=head)
        self.headActivated.emit(self._shown_kind, layer, head)

    def _on_scene_hovered(self, scene_pos) -> None:
        self.graphics.setToolTip(self.describe_point(*self._mosaic_point(scene_pos)))

    def describe_point(self, x: float, y: float) -> str:
        """The tooltip at a mosaic point: the head, and the query → key weight under the mouse."""
        hit = self.head_at(x, y)
        if hit is None:
            return ""
        layer, head = hit
        row0, col0 = self.tile_origin(layer, head)
        row, col = math.floor(y) - row0, math.floor(x) - col0
        value = format(float(self.mosaic[row0 + row, col0 + col]), ".3g")
        if self.masked is not None and self.masked[row0 + row, col0 + col]:
            value = "masked"
        if self.nan is not None and self.nan[row0 + row, col0 + col]:
            value = "NaN"
        text = f"layer {layer}, head {head}"
        if self.pool_factors == (1, 1):
            queries = self.state.query_labels(self._shown_kind)
            keys = self.state.key_labels(self._shown_kind)
            text += f"\n{at_position(queries[row], row)} → {at_position(keys[col], col)}: {value}"
        elif value == "masked":
            text += "\nevery cell of this block is masked"
        elif value == "NaN":
            text += "\nthis block holds a NaN"
        else:
            text += f"\nstrongest weight in this block: {value}"
        return text + "\nclick to open it"
