"""MatrixMap: a small labelled heatmap (layers × heads, layers × positions) that can be clicked."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import look
from .token_axis import TokenAxis


class MatrixMap(QWidget):
    """Draws an ``AttentionSelection``-like matrix with row and column labels and a colour bar.

    The image is fed exactly the given float32 matrix. Hovering shows "row, column: value" in
    the readout; a click on a cell emits ``cellClicked``.

    Signals:
        cellClicked(int, int): row and column of the clicked cell.
    """

    cellClicked = Signal(int, int)

    def __init__(self, object_name: str, hint: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.hint = hint
        self.value_format = ".3g"
        self.matrix: np.ndarray | None = None
        self.rows: list[str] = []
        self.columns: list[str] = []
        self.graphics = pg.GraphicsLayoutWidget()
        look.style_graphics(self.graphics)
        self.left_axis, self.bottom_axis = TokenAxis("left"), TokenAxis("bottom")
        self.plot = self.graphics.addPlot(axisItems={"left": self.left_axis, "bottom": self.bottom_axis},
                                          enableMenu=False)
        self.plot.invertY(True)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(False, False)
        look.style_plot(self.plot)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        self.nan_item = look.nan_overlay()
        self.plot.addItem(self.nan_item)
        self.color_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"),
                                         interactive=False, width=14, colorMapMenu=False)
        self.color_bar.setImageItem(self.image_item, insert_in=self.plot)
        look.style_color_bar(self.color_bar)
        self.readout = QLabel(hint, objectName=object_name + "Readout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.graphics.viewport().installEventFilter(self)

    def show_selection(self, selection, title: str | None = None, value_format: str = ".3g",
                       axis_columns: list[str] | None = None) -> None:
        """Draw ``selection.matrix`` with its labels, levels and colormap, under ``title`` (default:
        the selection's own, which figures use; a small map needs a shorter one). ``axis_columns``
        are shorter column labels for the axis; the hover reads the selection's own."""
        self.value_format = value_format
        self.matrix = np.ascontiguousarray(selection.matrix, dtype=np.float32)
        self.rows, self.columns = list(selection.query_tokens), list(selection.key_tokens)
        self.image_item.setImage(self.matrix, autoLevels=False)
        self.color_bar.setColorMap(pg.colormap.get(selection.colormap))
        self.color_bar.setLevels(selection.levels)
        look.set_mask_image(self.nan_item, look.nan_cells(self.matrix), look.NAN_LUT)
        self.left_axis.set_tokens(self.rows)
        self.bottom_axis.set_tokens(self.columns if axis_columns is None else axis_columns)
        rows_title, columns_title = selection.axis_titles()
        self.plot.setLabel("left", rows_title, color=look.TEXT_COLOR)
        self.plot.setLabel("bottom", columns_title, color=look.TEXT_COLOR)
        self.plot.setTitle(html.escape(selection.title if title is None else title),
                           color=look.TITLE_COLOR, size="10pt")
        rows, cols = self.matrix.shape
        self.plot.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows)
        self.plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self.readout.setText(self.hint)

    def clear(self, message: str = "") -> None:
        self.matrix = None
        self.image_item.clear()
        look.set_mask_image(self.nan_item, None, look.NAN_LUT)
        self.left_axis.set_tokens([])
        self.bottom_axis.set_tokens([])
        self.plot.setTitle(message, color=look.TITLE_COLOR, size="10pt")
        self.readout.setText(self.hint)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if self.matrix is None or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        rows, cols = self.matrix.shape
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def cell_text(self, row: int, col: int) -> str:
        value = float(self.matrix[row, col])
        shown = "NaN" if np.isnan(value) else format(value, self.value_format)
        return f"{self.rows[row]}, {self.columns[col]}: {shown}"

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        cell = self.cell_at(scene_pos)
        self.readout.setText(self.hint if cell is None else self.cell_text(*cell))

    def _on_mouse_clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cellClicked.emit(*cell)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Leave:
            self.readout.setText(self.hint)
        return super().eventFilter(watched, event)
