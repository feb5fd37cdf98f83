"""HeatmapFigure: one attention matrix as a paper-ready figure.

Title (model, kind, layer, head) on top, query tokens down the left, key tokens rotated along
the bottom, the matrix in the colours the app uses, and a colour bar with ticks on the right.
Labels are thinned only when the cells are smaller than a line of text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from ..state.selection import AttentionSelection
from .colors import matrix_image
from .painting import (
    FRAME_COLOR,
    Fonts,
    colorbar_and_key,
    colorbar_width,
    draw_colorbar,
    draw_keys,
    draw_matrix_image,
    draw_text,
    draw_title,
    line_height,
    shown_token,
    text_width,
    thinning_step,
)

NATURAL_CELL = 16.0  # points per token when the figure picks its own size
HEATMAP_RANGE = (160.0, 720.0)  # points a side: small inputs stay legible, long ones stay on a page
VECTOR_IMAGE_PIXELS = 1200  # embedded image size a side in SVG/PDF, so cells stay crisp

@dataclass(frozen=True)
class HeatmapLayout:
    """Where everything goes, in points."""

    fonts: Fonts
    title: QRectF
    heatmap: QRectF
    colorbar: QRectF
    row_label_width: float
    column_label_height: float
    row_step: int
    column_step: int
    masked_key: QRectF | None = None  # the "masked" and "NaN" swatches and labels, where cells are


class HeatmapFigure:
    """Draws an ``AttentionSelection`` at any size; see ``figures.output`` for the files."""

    def __init__(self, selection: AttentionSelection):
        self.selection = selection
        self.title = selection.title
        self.levels = selection.levels  # auto levels already skip masked cells
        self.rows = [shown_token(t) for t in selection.query_tokens]
        self.columns = [shown_token(t) for t in selection.key_tokens]
        self.has_masked = selection.masked is not None and bool(np.any(selection.masked))
        self.has_nan = bool(np.isnan(selection.matrix).any())
        self.keys = dict(masked=self.has_masked, nan=self.has_nan, masked_label=selection.mask_label)

    # ---- geometry -------------------------------------------------------------
    def _fixed_parts(self, fonts: Fonts) -> tuple[float, float]:
        """Width and height of everything around the heatmap."""
        s = fonts.scale
        row_w = max((text_width(fonts.label, t) for t in self.rows), default=0) + 6 * s
        col_h = max((text_width(fonts.label, t) for t in self.columns), default=0) + 6 * s
        axis = line_height(fonts.axis)
        width = 2 * 10 * s + axis + row_w + colorbar_width(fonts, self.levels, **self.keys)
        height = 2 * 10 * s + line_height(fonts.title) * 1.3 + 6 * s + col_h + axis
        return width, height

    def natural_size(self) -> QSizeF:
        """The size in points at which every token gets a 16 pt cell (within 160..720 pt)."""
        rows, cols = self.selection.matrix.shape
        low, high = HEATMAP_RANGE
        fixed_w, fixed_h = self._fixed_parts(Fonts())
        heat_w = min(high, max(low, cols * NATURAL_CELL))
        heat_h = min(high, max(low, rows * NATURAL_CELL))
        width = max(fixed_w + heat_w, text_width(Fonts().title, self.title) + 20)
        return QSizeF(math.ceil(width), math.ceil(fixed_h + heat_h))

    def layout(self, size: QSizeF) -> HeatmapLayout:
        """Fonts grow or shrink with the page (0.45x..2x), the heatmap takes the rest."""
        natural = self.natural_size()
        ratio = min(size.width() / natural.width(), size.height() / natural.height())
        fonts = Fonts(min(2.0, max(0.45, ratio)))
        s = fonts.scale
        pad = 10 * s
        axis = line_height(fonts.axis)
        row_w = max((text_width(fonts.label, t) for t in self.rows), default=0) + 6 * s
        col_h = max((text_width(fonts.label, t) for t in self.columns), default=0) + 6 * s
        title_h = line_height(fonts.title) * 1.3
        left = pad + axis + row_w
        top = pad + title_h + 6 * s
        bar_w = colorbar_width(fonts, self.levels, **self.keys)
        width = max(1.0, size.width() - left - bar_w - pad)
        height = max(1.0, size.height() - top - col_h - axis - pad)
        heatmap = QRectF(left, top, width, height)
        bar, key = colorbar_and_key(QRectF(heatmap.right() + 14 * s, top, 12 * s, height), fonts,
                                    **self.keys)
        rows, cols = self.selection.matrix.shape
        needed = line_height(fonts.label) * 0.95
        return HeatmapLayout(
            fonts=fonts, title=QRectF(pad, pad, size.width() - 2 * pad, title_h), heatmap=heatmap,
            colorbar=bar, row_label_width=row_w, column_label_height=col_h,
            row_step=thinning_step(rows, height / max(rows, 1), needed),
            column_step=thinning_step(cols, width / max(cols, 1), needed), masked_key=key)

    # ---- painting ---------------------------------------------------------------
    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        selection = self.selection
        layout = self.layout(size)
        fonts, heat = layout.fonts, layout.heatmap
        rows, cols = selection.matrix.shape
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        draw_title(painter, layout.title, self.title, fonts)

        upscale = max(1, min(64, VECTOR_IMAGE_PIXELS // max(rows, cols, 1))) if vector else 1
        draw_matrix_image(painter, heat, matrix_image(selection.matrix, self.levels, selection.colormap,
                                                      upscale, selection.masked))
        draw_colorbar(painter, layout.colorbar, selection.colormap, self.levels, fonts)
        if layout.masked_key is not None:
            draw_keys(painter, layout.masked_key, layout.colorbar.width(), fonts, **self.keys)
        self._paint_row_labels(painter, layout)
        self._paint_column_labels(painter, layout)
        self._paint_axis_titles(painter, layout)

    def _paint_row_labels(self, painter: QPainter, layout: HeatmapLayout) -> None:
        heat, fonts = layout.heatmap, layout.fonts
        cell = heat.height() / max(len(self.rows), 1)
        height = line_height(fonts.label)
        painter.setPen(QPen(FRAME_COLOR, 0.5))
        for i in range(0, len(self.rows), layout.row_step):
            y = heat.top() + (i + 0.5) * cell
            painter.drawLine(QPointF(heat.left() - 2 * fonts.scale, y), QPointF(heat.left(), y))
            rect = QRectF(heat.left() - layout.row_label_width, y - height / 2,
                          layout.row_label_width - 3 * fonts.scale, height)
            draw_text(painter, rect, self.rows[i], fonts.label,
                      Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def _paint_column_labels(self, painter: QPainter, layout: HeatmapLayout) -> None:
        heat, fonts = layout.heatmap, layout.fonts
        cell = heat.width() / max(len(self.columns), 1)
        height = line_height(fonts.label)
        painter.setPen(QPen(FRAME_COLOR, 0.5))
        for j in range(0, len(self.columns), layout.column_step):
            x = heat.left() + (j + 0.5) * cell
            painter.drawLine(QPointF(x, heat.bottom()), QPointF(x, heat.bottom() + 2 * fonts.scale))
            # Rotated -90°: the text reads upwards and ends just under the heatmap.
            origin = QRectF(x - height / 2, heat.bottom() + layout.column_label_height,
                            layout.column_label_height - 3 * fonts.scale, height)
            draw_text(painter, origin, self.columns[j], fonts.label,
                      Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, rotation=-90)

    def _paint_axis_titles(self, painter: QPainter, layout: HeatmapLayout) -> None:
        heat, fonts = layout.heatmap, layout.fonts
        axis_h = line_height(fonts.axis)
        below = QRectF(heat.left(), heat.bottom() + layout.column_label_height, heat.width(), axis_h)
        left = heat.left() - layout.row_label_width - axis_h
        beside = QRectF(left, heat.bottom(), heat.height(), axis_h)
        rows_title, columns_title = self.axis_titles()
        draw_text(painter, below, columns_title, fonts.axis)
        draw_text(painter, beside, rows_title, fonts.axis, rotation=-90)

    def axis_titles(self) -> tuple[str, str]:
        """(rows, columns): "queries (target tokens)", "keys (source tokens)" and the like."""
        return self.selection.axis_titles()
