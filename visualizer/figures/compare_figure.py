"""CompareFigure: run A, run B and B − A side by side, under one title.

Each panel is a HeatmapFigure with its own tokens and colour bar: A and B on one scale, the
difference on a diverging colormap with levels symmetric about 0 (white is "no change").
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSizeF
from PySide6.QtGui import QColor, QPainter

from .heatmap_figure import HeatmapFigure
from .painting import Fonts, draw_title, line_height, text_width

GAP = 12.0  # points between panels


class CompareFigure:
    """Draws a ``state.comparison.Comparison``; see ``figures.output`` for the files."""

    def __init__(self, comparison):
        self.comparison = comparison
        self.title = comparison.title
        self.panels = [HeatmapFigure(s) for s in (comparison.a, comparison.b, comparison.difference)]

    def _title_height(self, fonts: Fonts) -> float:
        return line_height(fonts.title) * 1.3 + 10 * fonts.scale

    def natural_size(self) -> QSizeF:
        sizes = [panel.natural_size() for panel in self.panels]
        width = sum(s.width() for s in sizes) + GAP * (len(sizes) - 1)
        width = max(width, text_width(Fonts().title, self.title) + 20)
        height = max(s.height() for s in sizes) + self._title_height(Fonts())
        return QSizeF(math.ceil(width), math.ceil(height))

    def _fonts(self, size: QSizeF) -> Fonts:
        """The title's fonts grow and shrink with the page, as each panel's do."""
        natural = self.natural_size()
        return Fonts(min(2.0, max(0.45, min(size.width() / natural.width(),
                                            size.height() / natural.height()))))

    def panel_rects(self, size: QSizeF) -> list[QRectF]:
        """Where each panel goes: the width shared in proportion to the panels' natural widths."""
        top = self._title_height(self._fonts(size))
        widths = [panel.natural_size().width() for panel in self.panels]
        room = max(1.0, size.width() - GAP * (len(widths) - 1))
        rects, left = [], 0.0
        for width in widths:
            share = room * width / sum(widths)
            rects.append(QRectF(left, top, share, max(1.0, size.height() - top)))
            left += share + GAP
        return rects

    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        fonts = self._fonts(size)
        pad = 10 * fonts.scale
        draw_title(painter, QRectF(pad, pad, size.width() - 2 * pad, line_height(fonts.title) * 1.3),
                   self.title, fonts)
        for panel, rect in zip(self.panels, self.panel_rects(size), strict=True):
            painter.save()
            painter.translate(rect.topLeft())
            panel.paint(painter, rect.size(), vector)
            painter.restore()
