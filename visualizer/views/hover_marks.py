"""HoverMarks: outline the token hovered in any pane on a heatmap, as a row and/or column band."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from . import look

HOVER_COLOR = QColor(*look.HOVER_COLOR)


class HoverMarks(QObject):
    """Keeps two translucent bands on a pyqtgraph plot in step with ``state.hover``.

    ``sides()`` returns whose positions the heatmap's rows and columns are ("source", "target"
    or "" for neither); ``shape()`` returns the heatmap's (rows, columns), or None when empty.
    Cell (r, c) is assumed to span [c, c+1) x [r, r+1) in plot coordinates, shifted by ``x_offset``.
    """

    def __init__(self, state, plot, sides: Callable[[], tuple[str, str]],
                 shape: Callable[[], tuple[int, int] | None], x_offset: float = 0.0):
        super().__init__(plot)
        self.state = state
        self.sides = sides
        self.shape = shape
        self.x_offset = x_offset
        self.row_band = self._band(plot)
        self.column_band = self._band(plot)
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        state.selectionChanged.connect(self.refresh)

    @staticmethod
    def _band(plot) -> QGraphicsRectItem:
        band = QGraphicsRectItem()
        pen = QPen(HOVER_COLOR, 2)
        pen.setCosmetic(True)  # two screen pixels at any zoom
        band.setPen(pen)  # an outline only: a tinted fill would change the colours users read
        band.setZValue(20)
        band.hide()
        plot.addItem(band)
        return band

    def _on_hover_changed(self, _side: str, _position: int) -> None:
        self.refresh()

    def _on_trace_changed(self, _trace) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Place (or hide) the bands for the current hover, selection and matrix."""
        side, position = self.state.hover
        shape = self.shape()
        row_side, column_side = self.sides()
        self.row_band.hide()
        self.column_band.hide()
        if shape is None or position < 0 or not side:
            return
        rows, columns = shape
        if side == row_side and position < rows:
            self.row_band.setRect(QRectF(self.x_offset, position, columns, 1))
            self.row_band.show()
        if side == column_side and position < columns:
            self.column_band.setRect(QRectF(self.x_offset + position, 0, 1, rows))
            self.column_band.show()
