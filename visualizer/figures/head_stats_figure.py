"""HeadStatsFigure: one statistic of every head of a kind, as a layers × heads grid of cells.

Each cell is coloured by the value (0..1 for weights and accuracies, 0..max for entropy and
mean distance) in the app's colormap and holds the value as text; NaN cells (undefined for this
kind or input) are magenta, with a key under the colour bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter

from ..state.head_stat_table import HeadStatTable, value_text
from .colors import colors_of, matrix_image
from .painting import (
    TEXT_COLOR,
    Fonts,
    colorbar_and_key,
    colorbar_width,
    draw_colorbar,
    draw_keys,
    draw_matrix_image,
    draw_text,
    draw_title,
    line_height,
    text_width,
)

CELL = (46.0, 24.0)  # points per head and per layer at the natural size
LIGHT_TEXT = QColor(255, 255, 255)


@dataclass(frozen=True)
class HeadStatsLayout:
    fonts: Fonts
    title: QRectF
    subtitle: QRectF
    heatmap: QRectF
    colorbar: QRectF
    key: QRectF | None
    label_width: float


class HeadStatsFigure:
    """Draws ``table.matrix`` ``[layers, heads]`` with ``colormap``."""

    def __init__(self, table: HeadStatTable, colormap: str = "viridis"):
        self.table = table
        self.colormap = colormap
        self.title = table.title  # the PDF's document title
        self.heading, self.subtitle = table.heading, table.over
        self.matrix = np.ascontiguousarray(table.matrix, dtype=np.float32)
        self.levels = table.levels
        self.nan = bool(np.isnan(self.matrix).any())
        layers, heads = self.matrix.shape
        self.row_labels = [f"L{i}" for i in range(layers)]
        self.column_labels = [f"H{j}" for j in range(heads)]

    def natural_size(self) -> QSizeF:
        fonts = Fonts()
        layers, heads = self.matrix.shape
        width = 2 * 10 + line_height(fonts.axis) + self._label_width(fonts) + heads * CELL[0] \
            + colorbar_width(fonts, self.levels, nan=self.nan) + 40
        width = max(width, text_width(fonts.title, self.heading) + 24,
                    text_width(fonts.label, self.subtitle) + 20, 260)
        height = 2 * 10 + line_height(fonts.title) * 1.3 + line_height(fonts.label) * 1.2 \
            + line_height(fonts.tick) * 1.4 + 6 \
            + max(layers * CELL[1], 90) + line_height(fonts.axis) * 1.4
        return QSizeF(math.ceil(width), math.ceil(height))

    def _label_width(self, fonts: Fonts) -> float:
        return max(text_width(fonts.label, t) for t in self.row_labels) + 6 * fonts.scale

    def layout(self, size: QSizeF) -> HeadStatsLayout:
        natural = self.natural_size()
        fonts = Fonts(min(2.0, max(0.45, min(size.width() / natural.width(),
                                                 size.height() / natural.height()))))
        s = fonts.scale
        pad = 10 * s
        title_h = line_height(fonts.title) * 1.3
        subtitle_h = line_height(fonts.label) * 1.2
        label_w = self._label_width(fonts)
        left = pad + line_height(fonts.axis) + label_w
        top = pad + title_h + subtitle_h + line_height(fonts.tick) * 1.4 + 6 * s
        width = max(1.0, size.width() - left - colorbar_width(fonts, self.levels, nan=self.nan) - pad)
        height = max(1.0, size.height() - top - line_height(fonts.axis) * 1.4 - pad)
        heatmap = QRectF(left, top, width, height)
        bar, key = colorbar_and_key(QRectF(heatmap.right() + 14 * s, top, 12 * s, height), fonts,
                                    masked=False, nan=self.nan)
        return HeadStatsLayout(fonts, QRectF(pad, pad, size.width() - 2 * pad, title_h),
                               QRectF(pad, pad + title_h, size.width() - 2 * pad, subtitle_h), heatmap, bar,
                               key, label_w)

    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        layout = self.layout(size)
        fonts, rect = layout.fonts, layout.heatmap
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        draw_title(painter, layout.title, self.heading, fonts)
        draw_text(painter, layout.subtitle, self.subtitle, fonts.label)
        draw_matrix_image(painter, rect, matrix_image(self.matrix, self.levels, self.colormap))
        draw_colorbar(painter, layout.colorbar, self.colormap, self.levels, fonts)
        if layout.key is not None:
            draw_keys(painter, layout.key, layout.colorbar.width(), fonts, masked=False, nan=self.nan)
        layers, heads = self.matrix.shape
        cell_w, cell_h = rect.width() / heads, rect.height() / layers
        tick_h = line_height(fonts.tick) * 1.4
        for j, label in enumerate(self.column_labels):
            draw_text(painter, QRectF(rect.left() + j * cell_w, rect.top() - tick_h, cell_w, tick_h),
                      label, fonts.tick)
        label_h = line_height(fonts.label)
        for i, label in enumerate(self.row_labels):
            y = rect.top() + (i + 0.5) * cell_h
            draw_text(painter, QRectF(rect.left() - layout.label_width, y - label_h / 2,
                                      layout.label_width - 3 * fonts.scale, label_h), label, fonts.label,
                      Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if cell_h >= line_height(fonts.tick) * 0.9 and cell_w >= text_width(fonts.tick, "0.000"):
            self._paint_values(painter, rect, cell_w, cell_h, fonts)
        axis_h = line_height(fonts.axis)
        draw_text(painter, QRectF(rect.left(), rect.bottom() + 2 * fonts.scale, rect.width(), axis_h),
                  "head", fonts.axis)
        beside = QRectF(rect.left() - layout.label_width - axis_h, rect.bottom(), rect.height(), axis_h)
        draw_text(painter, beside, "layer", fonts.axis, rotation=-90)

    def _paint_values(self, painter: QPainter, rect: QRectF, cell_w: float, cell_h: float,
                      fonts: Fonts) -> None:
        """Each cell's value, light on dark colours and dark on light ones."""
        luminance = colors_of(self.matrix, self.levels, self.colormap).astype(np.float64) \
            @ np.array([0.299, 0.587, 0.114])
        painter.save()
        painter.setFont(fonts.tick)
        for (i, j), value in np.ndenumerate(self.matrix):
            painter.setPen(LIGHT_TEXT if luminance[i, j] < 140 else TEXT_COLOR)
            cell = QRectF(rect.left() + j * cell_w, rect.top() + i * cell_h, cell_w, cell_h)
            painter.drawText(cell, int(Qt.AlignmentFlag.AlignCenter), value_text(float(value)))
        painter.restore()
