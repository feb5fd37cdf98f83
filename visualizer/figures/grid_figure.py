"""GridFigure: every head of one attention kind, layers × heads thumbnails with one colour bar.

A raster thumbnail per head (large matrices reduced by block maxima), so 12 × 12 heads at 512
tokens is as cheap to export as to show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter

from engine.kinds import kind_title

from ..state.selection import AttentionSelection, levels_for
from .colors import matrix_image, reduce_for_thumbnail, reduce_mask_for_thumbnail
from .painting import (
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

THUMBNAIL_CELLS = 128  # a thumbnail shows at most this many cells a side
NATURAL_THUMBNAIL = 80.0  # points
GAP = 4.0


@dataclass(frozen=True)
class GridLayout:
    fonts: Fonts
    title: QRectF
    cells: list[list[QRectF]]  # [layer][head]
    colorbar: QRectF
    row_header_width: float
    masked_key: QRectF | None = None  # the "masked" and "NaN" swatches and labels, where cells are


class GridFigure:
    """All heads of ``selection.kind`` (needs ``selection.heads``: ``[layers, heads, q, k]``).

    ``layer_masks`` (one ``[q, k]`` bool array or None per layer: ``selection.layer_masks(state)``)
    greys the cells a mask hides; each layer has its own (local windows differ by layer).
    """

    def __init__(self, selection: AttentionSelection, layer_masks: list | None = None):
        if selection.heads is None:
            raise ValueError("the all-heads figure needs the whole attention stack")
        self.selection = selection
        self.heads = np.asarray(selection.heads, dtype=np.float32)
        self.masks = list(layer_masks) if layer_masks is not None else [None] * self.heads.shape[0]
        stacked = None
        if any(mask is not None for mask in self.masks):
            stacked = np.zeros((self.heads.shape[0], 1, *self.heads.shape[2:]), dtype=bool)
            for layer, mask in enumerate(self.masks):
                if mask is not None:
                    stacked[layer, 0] = mask
        self.levels = levels_for(self.heads, selection.auto_levels, stacked)
        self.has_masked = stacked is not None and bool(stacked.any())
        self.has_nan = bool(np.isnan(self.heads).any())
        kind = kind_title(selection.kind)
        what = f"{kind}, all {self.heads.shape[0]} layers × {self.heads.shape[1]} heads"
        self.title = f"{selection.model} — {what}" if selection.model else what

    def _aspect(self) -> float:
        """Thumbnail height / width, from the matrix shape (queries / keys), kept reasonable."""
        queries, keys = self.heads.shape[2:]
        return min(2.0, max(0.5, queries / max(keys, 1)))

    def _fixed_parts(self, fonts: Fonts) -> tuple[float, float, float]:
        s = fonts.scale
        row_header = text_width(fonts.label, f"layer {self.heads.shape[0] - 1}") + 8 * s
        width = 2 * 10 * s + row_header + colorbar_width(fonts, self.levels, self.has_masked, self.has_nan)
        height = 2 * 10 * s + line_height(fonts.title) * 1.3 + line_height(fonts.label) + 4 * s
        return width, height, row_header

    def natural_size(self) -> QSizeF:
        layers, heads = self.heads.shape[:2]
        fixed_w, fixed_h, _ = self._fixed_parts(Fonts())
        thumb = NATURAL_THUMBNAIL if heads <= 8 else 64.0
        # Never narrower than the title: a model with few heads must not cut it off.
        width = max(fixed_w + heads * (thumb + GAP), text_width(Fonts().title, self.title) + 20)
        height = fixed_h + layers * (thumb * self._aspect() + GAP)
        return QSizeF(math.ceil(width), math.ceil(height))

    def layout(self, size: QSizeF) -> GridLayout:
        natural = self.natural_size()
        ratio = min(size.width() / natural.width(), size.height() / natural.height())
        fonts = Fonts(min(2.0, max(0.45, ratio)))
        s = fonts.scale
        layers, heads = self.heads.shape[:2]
        fixed_w, fixed_h, row_header = self._fixed_parts(fonts)
        gap = GAP * s
        # Thumbnails as large as both directions allow, at the matrix's aspect ratio.
        thumb_w = (size.width() - fixed_w) / heads - gap
        thumb_h = (size.height() - fixed_h) / layers - gap
        thumb_w = max(1.0, min(thumb_w, thumb_h / self._aspect()))
        thumb_h = thumb_w * self._aspect()
        pad = 10 * s
        top = pad + line_height(fonts.title) * 1.3 + line_height(fonts.label) + 4 * s
        spare = max(0.0, size.width() - fixed_w - heads * (thumb_w + gap))
        left = pad + row_header + spare / 2  # centred when the height limits the thumbnails
        cells = [[QRectF(left + h * (thumb_w + gap), top + i * (thumb_h + gap), thumb_w, thumb_h)
                  for h in range(heads)] for i in range(layers)]
        grid_h = layers * (thumb_h + gap) - gap
        bar_left = left + heads * (thumb_w + gap) - gap + 14 * s
        bar, key = colorbar_and_key(QRectF(bar_left, top, 12 * s, grid_h), fonts, self.has_masked,
                                    self.has_nan)
        return GridLayout(fonts=fonts, title=QRectF(pad, pad, size.width() - 2 * pad,
                                                    line_height(fonts.title) * 1.3),
                          cells=cells, colorbar=bar, row_header_width=row_header, masked_key=key)

    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        layout = self.layout(size)
        fonts = layout.fonts
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        draw_title(painter, layout.title, self.title, fonts)
        label_h = line_height(fonts.label)
        colormap = self.selection.colormap
        for layer, row in enumerate(layout.cells):
            first = row[0]
            header = QRectF(first.left() - layout.row_header_width, first.top(),
                            layout.row_header_width - 6 * fonts.scale, first.height())
            draw_text(painter, header, f"layer {layer}", fonts.label,
                      Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for head, rect in enumerate(row):
                if layer == 0:
                    name = f"head {head}" if text_width(fonts.label, f"head {head}") < rect.width() \
                        else str(head)
                    draw_text(painter, QRectF(rect.left(), rect.top() - label_h - 2 * fonts.scale,
                                              rect.width(), label_h), name, fonts.label)
                matrix = reduce_for_thumbnail(self.heads[layer, head], THUMBNAIL_CELLS)
                mask = self.masks[layer]
                if mask is not None:
                    mask = reduce_mask_for_thumbnail(mask, THUMBNAIL_CELLS)
                upscale = max(1, 256 // max(matrix.shape)) if vector else 1
                draw_matrix_image(painter, rect, matrix_image(matrix, self.levels, colormap, upscale, mask))
        draw_colorbar(painter, layout.colorbar, colormap, self.levels, fonts)
        if layout.masked_key is not None:
            draw_keys(painter, layout.masked_key, layout.colorbar.width(), fonts, self.has_masked,
                      self.has_nan)
