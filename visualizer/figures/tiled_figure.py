"""TiledFigure: several figures on one page in a grid, each in its own cell (the report's pages)."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSizeF
from PySide6.QtGui import QColor, QPainter

GAP = 10.0  # points between cells


class TiledFigure:
    """``figures`` in rows of ``columns``; every cell gets the same share of the page."""

    def __init__(self, figures: list, columns: int, title: str = ""):
        self.figures = list(figures)
        self.columns = max(1, min(columns, len(self.figures)))
        self.rows = math.ceil(len(self.figures) / self.columns)
        self.title = title or " · ".join(getattr(f, "title", "") for f in self.figures)

    def natural_size(self) -> QSizeF:
        sizes = [figure.natural_size() for figure in self.figures]
        cell_w = max(s.width() for s in sizes)
        cell_h = max(s.height() for s in sizes)
        return QSizeF(math.ceil(cell_w * self.columns + GAP * (self.columns - 1)),
                      math.ceil(cell_h * self.rows + GAP * (self.rows - 1)))

    def cells(self, size: QSizeF) -> list[QRectF]:
        width = (size.width() - GAP * (self.columns - 1)) / self.columns
        height = (size.height() - GAP * (self.rows - 1)) / self.rows
        return [QRectF((i % self.columns) * (width + GAP), (i // self.columns) * (height + GAP),
                       max(1.0, width), max(1.0, height)) for i in range(len(self.figures))]

    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        for figure, cell in zip(self.figures, self.cells(size), strict=True):
            painter.save()
            painter.translate(cell.topLeft())
            figure.paint(painter, cell.size(), vector)
            painter.restore()
