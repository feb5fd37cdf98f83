"""PredictionsFigure: each listed position's top-k tokens as a table coloured by probability.

One row a position (its index and token on the left), one column a rank (likeliest first).
Each cell is coloured by its probability in the app's colormap on fixed 0..1 levels, and holds
the predicted token and its percentage whenever the cell is a line of text tall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter

from ..state.prediction_rows import PredictionRows, probability_text
from .colors import colors_of, matrix_image
from .painting import (
    TEXT_COLOR,
    Fonts,
    colorbar_width,
    draw_colorbar,
    draw_matrix_image,
    draw_text,
    draw_title,
    line_height,
    metrics,
    shown_token,
    text_width,
    thinning_step,
)

LEVELS = (0.0, 1.0)  # probabilities
NATURAL_ROW = 16.0  # points per position at the natural size
MAX_NATURAL_HEIGHT = 900.0  # longer inputs get thinner rows (and labels thinned) instead of a poster
CELL_WIDTH_RANGE = (44.0, 130.0)
LIGHT_TEXT = QColor(255, 255, 255)


@dataclass(frozen=True)
class PredictionsLayout:
    fonts: Fonts
    title: QRectF
    table: QRectF
    colorbar: QRectF
    row_label_width: float
    row_step: int
    cell_text: bool  # whether cells are tall enough to hold their token and percentage


class PredictionsFigure:
    """Draws ``PredictionRows`` (the rows in their listed order) with ``colormap``."""

    def __init__(self, rows: PredictionRows, colormap: str = "viridis"):
        self.rows = rows
        self.colormap = colormap
        self.title = rows.title
        self.probs = np.ascontiguousarray(rows.predictions.top_probs[rows.order], dtype=np.float32)
        self.labels = [shown_token(rows.row_label(r)) for r in rows.order]
        self.cells = [[self._cell_text(r, rank) for rank in range(rows.predictions.k)] for r in rows.order]
        self.axis_titles = (("position (predicting the token after it)" if rows.next_token
                             else "position"), "rank (likeliest first)")

    def _cell_text(self, row: int, rank: int) -> str:
        probability = self.rows.predictions.top_probs[row, rank]
        return f"{shown_token(self.rows.readable(row, rank))} {probability_text(probability)}"

    # ---- geometry -------------------------------------------------------------
    def _label_width(self, fonts: Fonts) -> float:
        return max((text_width(fonts.label, t) for t in self.labels), default=0) + 6 * fonts.scale

    def _cell_width(self, fonts: Fonts) -> float:
        widest = max((text_width(fonts.tick, t) for row in self.cells for t in row), default=0)
        low, high = CELL_WIDTH_RANGE
        return min(high * fonts.scale, max(low * fonts.scale, widest + 6 * fonts.scale))

    def natural_size(self) -> QSizeF:
        fonts = Fonts()
        s = fonts.scale
        rows, ranks = self.probs.shape
        table_w = ranks * self._cell_width(fonts)
        table_h = min(MAX_NATURAL_HEIGHT, max(3 * NATURAL_ROW, rows * NATURAL_ROW))
        width = 2 * 10 * s + line_height(fonts.axis) + self._label_width(fonts) + table_w \
            + colorbar_width(fonts, LEVELS)
        width = max(width, text_width(fonts.title, self.title) + 20)
        height = 2 * 10 * s + line_height(fonts.title) * 1.3 + line_height(fonts.tick) * 1.4 \
            + 6 * s + table_h + line_height(fonts.axis) * 1.4
        return QSizeF(math.ceil(width), math.ceil(height))

    def layout(self, size: QSizeF) -> PredictionsLayout:
        """Fonts follow the page (0.45x..2x), the table takes the rest."""
        natural = self.natural_size()
        ratio = min(size.width() / natural.width(), size.height() / natural.height())
        fonts = Fonts(min(2.0, max(0.45, ratio)))
        s = fonts.scale
        pad = 10 * s
        title_h = line_height(fonts.title) * 1.3
        label_w = self._label_width(fonts)
        left = pad + line_height(fonts.axis) + label_w
        top = pad + title_h + line_height(fonts.tick) * 1.4 + 6 * s
        width = max(1.0, size.width() - left - colorbar_width(fonts, LEVELS) - pad)
        height = max(1.0, size.height() - top - line_height(fonts.axis) * 1.4 - pad)
        table = QRectF(left, top, width, height)
        rows = max(len(self.labels), 1)
        cell_h = height / rows
        return PredictionsLayout(
            fonts=fonts, title=QRectF(pad, pad, size.width() - 2 * pad, title_h), table=table,
            colorbar=QRectF(table.right() + 14 * s, top, 12 * s, height), row_label_width=label_w,
            row_step=thinning_step(rows, cell_h, line_height(fonts.label) * 0.95),
            cell_text=cell_h >= line_height(fonts.tick) * 0.9)

    # ---- painting ---------------------------------------------------------------
    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        layout = self.layout(size)
        fonts, table = layout.fonts, layout.table
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        draw_title(painter, layout.title, self.title, fonts)
        if self.probs.size:
            draw_matrix_image(painter, table, matrix_image(self.probs, LEVELS, self.colormap))
        draw_colorbar(painter, layout.colorbar, self.colormap, LEVELS, fonts)
        rows, ranks = self.probs.shape
        cell_w, cell_h = table.width() / max(ranks, 1), table.height() / max(rows, 1)
        header = QRectF(table.left(), table.top() - line_height(fonts.tick) * 1.4, cell_w,
                        line_height(fonts.tick) * 1.4)
        for rank in range(ranks):
            draw_text(painter, header.translated(rank * cell_w, 0), str(rank + 1), fonts.tick)
        height = line_height(fonts.label)
        for i in range(0, rows, layout.row_step):
            y = table.top() + (i + 0.5) * cell_h
            rect = QRectF(table.left() - layout.row_label_width, y - height / 2,
                          layout.row_label_width - 3 * fonts.scale, height)
            draw_text(painter, rect, self.labels[i], fonts.label,
                      Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if layout.cell_text:
            self._paint_cells(painter, table, cell_w, cell_h, fonts)
        axis_h = line_height(fonts.axis)
        draw_text(painter, QRectF(table.left(), table.bottom() + 2 * fonts.scale, table.width(), axis_h),
                  self.axis_titles[1], fonts.axis)
        left = table.left() - layout.row_label_width - axis_h
        beside = QRectF(left, table.bottom(), table.height(), axis_h)
        draw_text(painter, beside, self.axis_titles[0], fonts.axis, rotation=-90)

    def _paint_cells(self, painter: QPainter, table: QRectF, cell_w: float, cell_h: float,
                     fonts: Fonts) -> None:
        """Each cell's token and percentage, light on dark colours and dark on light ones."""
        rgb = colors_of(self.probs, LEVELS, self.colormap).astype(np.float64)
        luminance = rgb @ np.array([0.299, 0.587, 0.114])
        font = fonts.tick
        painter.save()
        painter.setFont(font)
        for i, row in enumerate(self.cells):
            for rank, text in enumerate(row):
                rect = QRectF(table.left() + rank * cell_w + 2 * fonts.scale, table.top() + i * cell_h,
                              cell_w - 4 * fonts.scale, cell_h)
                painter.setPen(LIGHT_TEXT if luminance[i, rank] < 140 else TEXT_COLOR)
                shown = metrics(font).elidedText(text, Qt.TextElideMode.ElideMiddle, rect.width())
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), shown)
        painter.restore()
