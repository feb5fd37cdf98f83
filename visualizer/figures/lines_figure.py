"""LinesFigure: BertViz-style lines from query tokens (left) to key tokens (right).

Each line's opacity is its attention weight; with several heads each head has its own colour
and a legend. It draws exactly the lines the head-line view shows (weak lines skipped, at most
a few thousand of the strongest), so the file matches the screen.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from ..state.line_selection import AGGREGATE_COLOR, SUMMARY, select_lines
from ..state.selection import AttentionSelection
from .painting import Fonts, draw_text, draw_title, line_height, shown_token, text_width, thinning_step

NATURAL_ROW = 14.0  # points per token row at the natural size
MAX_NATURAL_HEIGHT = 900.0  # longer inputs thin their labels instead of making a poster
SPAN = 240.0  # points between the two token columns


class LinesFigure:
    """Two token columns and weighted lines; ``lines`` and ``colors`` default to the selection's."""

    def __init__(self, selection: AttentionSelection, lines: np.ndarray | None = None,
                 colors: dict[int, str] | None = None):
        self.selection = selection
        self.title = selection.title
        self.lines = select_lines({SUMMARY: selection.matrix}) if lines is None else lines
        self.colors = colors or {-1: AGGREGATE_COLOR}
        self.queries = [shown_token(t) for t in selection.query_tokens]
        self.keys = [shown_token(t) for t in selection.key_tokens]

    def _heads(self) -> list[int]:
        return sorted({int(h) for h in self.lines["head"]})

    def _widths(self, fonts: Fonts) -> tuple[float, float]:
        pad = 4 * fonts.scale
        left = max([text_width(fonts.label, t) for t in self.queries] + [text_width(fonts.axis, "queries")])
        right = max([text_width(fonts.label, t) for t in self.keys] + [text_width(fonts.axis, "keys")])
        return left + pad, right + pad

    def _top(self, fonts: Fonts) -> float:
        return 10 * fonts.scale + line_height(fonts.title) * 1.3 + line_height(fonts.axis) * 1.4

    def natural_size(self) -> QSizeF:
        fonts = Fonts()
        left, right = self._widths(fonts)
        rows = max(len(self.queries), len(self.keys), 1)
        width = max(20 + left + right + SPAN, text_width(fonts.title, self.title) + 20)
        height = self._top(fonts) + 10 + min(MAX_NATURAL_HEIGHT, max(100.0, rows * NATURAL_ROW))
        return QSizeF(math.ceil(width), math.ceil(height))

    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        natural = self.natural_size()
        fonts = Fonts(min(2.0, max(0.45, min(size.width() / natural.width(),
                                              size.height() / natural.height()))))
        s = fonts.scale
        pad = 10 * s
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        draw_title(painter, QRectF(pad, pad, size.width() - 2 * pad, line_height(fonts.title) * 1.3),
                   self.title, fonts)
        left_w, right_w = self._widths(fonts)
        top = self._top(fonts)
        rows = max(len(self.queries), len(self.keys), 1)
        row_h = max(0.5, (size.height() - top - pad) / rows)
        left = QRectF(pad, top, left_w, rows * row_h)
        right = QRectF(size.width() - pad - right_w, top, right_w, rows * row_h)
        header_h = line_height(fonts.axis)
        draw_text(painter, QRectF(left.left(), top - header_h * 1.2, left_w, header_h), "queries",
                  fonts.axis, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        draw_text(painter, QRectF(right.left(), top - header_h * 1.2, right_w, header_h), "keys",
                  fonts.axis, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._paint_legend(painter, QRectF(left.right(), top - header_h * 1.2,
                                           right.left() - left.right(), header_h), fonts)
        self._paint_lines(painter, left.right() + 3 * s, right.left() - 3 * s, top, row_h, s)
        step = thinning_step(rows, row_h, line_height(fonts.label) * 0.95)
        for column, tokens, align in ((left, self.queries, Qt.AlignmentFlag.AlignRight),
                                      (right, self.keys, Qt.AlignmentFlag.AlignLeft)):
            for i in range(0, len(tokens), step):
                y = top + (i + 0.5) * row_h
                rect = QRectF(column.left(), y - line_height(fonts.label) / 2, column.width(),
                              line_height(fonts.label))
                draw_text(painter, rect, tokens[i], fonts.label, align | Qt.AlignmentFlag.AlignVCenter)

    def _paint_lines(self, painter: QPainter, x1: float, x2: float, top: float, row_h: float,
                     scale: float) -> None:
        painter.save()
        order = np.argsort(self.lines["weight"], kind="stable")  # strongest drawn last, on top
        for line in self.lines[order]:
            color = QColor(self.colors.get(int(line["head"]), AGGREGATE_COLOR))
            color.setAlphaF(float(min(1.0, max(0.0, line["weight"]))))
            painter.setPen(QPen(color, 1.2 * scale))
            painter.drawLine(QLineF(x1, top + (line["query"] + 0.5) * row_h,
                                    x2, top + (line["key"] + 0.5) * row_h))
        painter.restore()

    def _paint_legend(self, painter: QPainter, rect: QRectF, fonts: Fonts) -> None:
        heads = [h for h in self._heads() if h >= 0]
        if len(heads) < 2:
            return
        swatch = line_height(fonts.tick) * 0.8
        widths = [swatch + 2 + text_width(fonts.tick, f"head {h}") + 6 * fonts.scale for h in heads]
        x = rect.center().x() - sum(widths) / 2
        for head, width in zip(heads, widths, strict=True):
            painter.fillRect(QRectF(x, rect.center().y() - swatch / 2, swatch, swatch),
                             QColor(self.colors.get(head, AGGREGATE_COLOR)))
            draw_text(painter, QRectF(x + swatch + 2, rect.top(), width, rect.height()), f"head {head}",
                      fonts.tick, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            x += width
