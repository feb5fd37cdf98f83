"""LensFigure: the logit lens as layers × positions, each cell its top token on its colour.

A HeatmapFigure (title, position tokens along the bottom, layer names down the side, colour bar)
whose cells also hold the layer's top token whenever a cell is wide and tall enough for text.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter

from ..state.lens_grid import LensGrid, lens_selection
from .colors import colors_of
from .heatmap_figure import HeatmapFigure
from .painting import TEXT_COLOR, Fonts, line_height, metrics, shown_token

NATURAL_COLUMN = 44.0  # points a position: room for a short token
NATURAL_ROW = 22.0
WIDTH_RANGE, HEIGHT_RANGE = (200.0, 1100.0), (90.0, 600.0)
LIGHT_TEXT = QColor(255, 255, 255)
MIN_CELL_WIDTH = 14.0  # points: narrower cells show colour only


class LensFigure(HeatmapFigure):
    """Draws a ``LensGrid`` with ``colormap`` on fixed 0..1 levels."""

    def __init__(self, grid: LensGrid, state):
        super().__init__(lens_selection(grid, state))
        self.grid = grid
        self.cells = [[shown_token(t) for t in row] for row in grid.top]

    def natural_size(self) -> QSizeF:
        rows, cols = self.selection.matrix.shape
        fixed_w, fixed_h = self._fixed_parts(Fonts())
        heat_w = min(WIDTH_RANGE[1], max(WIDTH_RANGE[0], cols * NATURAL_COLUMN))
        heat_h = min(HEIGHT_RANGE[1], max(HEIGHT_RANGE[0], rows * NATURAL_ROW))
        # A margin over the title: painted at the device resolution it can come out a little wider.
        width = max(fixed_w + heat_w, metrics(Fonts().title).horizontalAdvance(self.title) * 1.05 + 20)
        return QSizeF(math.ceil(width), math.ceil(fixed_h + heat_h))

    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        super().paint(painter, size, vector)
        layout = self.layout(size)
        heat, fonts = layout.heatmap, layout.fonts
        rows, cols = self.selection.matrix.shape
        cell_w, cell_h = heat.width() / max(cols, 1), heat.height() / max(rows, 1)
        if cell_w < MIN_CELL_WIDTH * fonts.scale or cell_h < line_height(fonts.tick) * 0.9:
            return
        rgb = colors_of(self.selection.matrix, self.levels, self.selection.colormap,
                        self.selection.masked).astype(np.float64)
        luminance = rgb @ np.array([0.299, 0.587, 0.114])  # light text on dark cells
        font = fonts.tick
        painter.save()
        painter.setFont(font)
        for r in range(rows):
            for c in range(cols):
                rect = QRectF(heat.left() + c * cell_w + 1, heat.top() + r * cell_h, cell_w - 2, cell_h)
                painter.setPen(LIGHT_TEXT if luminance[r, c] < 140 else TEXT_COLOR)
                shown = metrics(font).elidedText(self.cells[r][c], Qt.TextElideMode.ElideRight, rect.width())
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), shown)
        painter.restore()
