"""TokenAxis: a pyqtgraph axis that labels heatmap cells with tokens, thinned to never overlap."""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import lru_cache

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetrics, QPen, QPicture

MAX_LABEL_CHARS = 14  # longer tokens are cut with an ellipsis; the tooltip shows them whole
# Token lists, and drawn axes, kept per axis: a kind switch swaps source and target tokens (and
# a range of 2,048 or 2,049 cells) and back, and drawing 2,048 labels' axis costs ~1.5–3 ms.
KEPT_LISTS, KEPT_PICTURES = 4, 8


@lru_cache(maxsize=1 << 16)  # a text repeats its tokens, and every axis of every pane asks again
def shorten(token: str, limit: int = MAX_LABEL_CHARS) -> str:
    """A token as an axis label: whitespace markers made visible, long tokens cut."""
    text = token.replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def label_step(count: int, pixels: float, label_pixels: float) -> int:
    """Show every ``step``-th of ``count`` labels so each gets at least ``label_pixels``."""
    if count <= 0 or pixels <= 0:
        return 1
    return max(1, math.ceil(count * label_pixels / pixels))


def _pen_key(pen: QPen) -> tuple:
    return pen.color().rgba(), pen.widthF(), pen.style(), pen.isCosmetic()


def _scale_key(transform) -> tuple:
    """The device's scale and turn: where on the device the axis lands changes no tick."""
    return transform.m11(), transform.m12(), transform.m21(), transform.m22()


class TokenAxis(pg.AxisItem):
    """Cell ``i`` spans ``[i, i+1)``; its label sits at ``i + 0.5``.

    Horizontal axes reserve the widest label's width per tick, vertical ones a line height,
    so long sequences show every k-th token instead of an unreadable pile. The axis drawn for
    a token list, range, size and look is kept, so switching back to it draws nothing anew.
    """

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        self._tokens: list[str] = []
        self._labels: list[str] = []
        self._widest = 10  # pixels of the widest label
        self.shown_indices: list[int] = []  # the labelled cells at the last layout (for tests)
        # (tokens, font) -> (labels, widest), and (tokens, range, place, look) -> (drawn axis,
        # shown_indices), oldest first
        self._lists: OrderedDict[tuple, tuple[list[str], int]] = OrderedDict()
        self._list_key: tuple = ()
        self._pictures: OrderedDict[tuple, tuple[QPicture, list[int]]] = OrderedDict()

    def set_tokens(self, tokens: list[str]) -> None:
        if tokens == self._tokens:
            return  # a head or layer switch: same labels, and re-measuring 2,048 of them costs ms
        self._tokens = list(tokens)
        metrics = self._metrics()
        key = (tuple(self._tokens), self._font().toString())
        if key not in self._lists:
            labels = [shorten(token) for token in self._tokens]
            # Measured once per token list: tickValues runs on every repaint, at 1,000+ tokens too.
            widest = max((metrics.horizontalAdvance(t) for t in set(labels)), default=10)
            self._lists[key] = (labels, widest)
            while len(self._lists) > KEPT_LISTS:
                self._lists.popitem(last=False)
        self._lists.move_to_end(key)
        self._list_key = key
        self._labels, self._widest = self._lists[key]
        if self.orientation in ("left", "right"):
            # Reserve room for the widest label plus the axis title: pyqtgraph silently drops
            # any tick label that does not fit inside the axis.
            self.setWidth(min(self._widest + 16 + 2 * metrics.height(), 200))
        else:
            self.setHeight(2 * metrics.height() + 16)  # tick labels and the axis title, apart
        self.picture = None
        self.update()

    def tokens(self) -> list[str]:
        return list(self._tokens)

    def paint(self, painter, option, widget) -> None:
        """pyqtgraph's drawing, taken from the kept ones when this axis was drawn so before."""
        if self.picture is None:
            key = self._picture_key(painter)
            if key not in self._pictures:
                super().paint(painter, option, widget)  # draws self.picture afresh, and shows it
                self._pictures[key] = (self.picture, self.shown_indices)
                while len(self._pictures) > KEPT_PICTURES:
                    self._pictures.popitem(last=False)
                return
            self._pictures.move_to_end(key)
            self.picture, self.shown_indices = self._pictures[key]
        self.picture.play(painter)

    def _picture_key(self, painter) -> tuple:
        """All that pyqtgraph's drawing of this axis reads: labels, range, place on the device,
        pens and style (a font by its description)."""
        style = tuple((name, value.toString() if isinstance(value, QFont) else repr(value))
                      for name, value in sorted(self.style.items()))
        return (self._list_key, self._font().toString(), tuple(self.range), self.geometry().getRect(),
                self.boundingRect().getRect(), _scale_key(painter.deviceTransform()), self.grid,
                self.scale, self.autoSIPrefixScale,
                *(_pen_key(pen) for pen in (self.pen(), self.textPen(), self.tickPen())), style)

    def _font(self) -> QFont:
        return self.style.get("tickFont") or self.font()

    def _metrics(self) -> QFontMetrics:
        return QFontMetrics(self._font())

    def _label_pixels(self) -> float:
        metrics = self._metrics()
        if self.orientation in ("left", "right"):
            return metrics.height() + 2
        return self._widest + 8

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        count = len(self._tokens)
        if not count:
            return []
        first = max(0, int(math.floor(min(minVal, maxVal))))
        last = min(count - 1, int(math.ceil(max(minVal, maxVal))) - 1)
        if last < first:
            self.shown_indices = []
            return []
        visible = last - first + 1
        step = label_step(visible, size, self._label_pixels())
        # Anchor the thinning at multiples of step, so labels do not jump while panning.
        start = first + (-first) % step
        # pyqtgraph drops a label that would stick out of the axis: leave out those at the ends.
        low, high = min(minVal, maxVal), max(minVal, maxVal)
        scale = size / (high - low) if high > low else 1.0
        half = self._label_pixels() / 2 - 2
        self.shown_indices = [i for i in range(start, last + 1, step)
                              if half <= (i + 0.5 - low) * scale <= size - half]
        return [(1.0, [i + 0.5 for i in self.shown_indices])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        strings = []
        for value in values:
            index = int(math.floor(value))
            strings.append(self._labels[index] if 0 <= index < len(self._labels) else "")
        return strings
