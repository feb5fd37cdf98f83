"""Pieces every figure draws: fonts sized in points, text, thinned labels and the colour bar.

Figures paint in points (1/72 inch) on every device: the PNG painter is scaled by dpi/72 and
the SVG and PDF devices run at 72 dpi, so one layout serves all three formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen

from engine.readable_tokens import readable_token

from .colors import MASKED_COLOR, NAN_COLOR, colorbar_image

POINTS_PER_INCH = 72.0
TEXT_COLOR = QColor(30, 30, 30)
FRAME_COLOR = QColor(90, 90, 90)
MAX_LABEL_CHARS = 18
MASKED_LABEL = "masked"  # the key under the colour bar for the grey cells a mask hides
NAN_LABEL = "NaN"  # and for the magenta cells whose value is not a number


def _reference_device() -> QImage:
    # Metrics must be measured at 72 dpi (1 unit = 1 point), whatever the screen's dpi is.
    image = QImage(1, 1, QImage.Format.Format_RGB32)
    dots_per_meter = round(POINTS_PER_INCH / 0.0254)
    image.setDotsPerMeterX(dots_per_meter)
    image.setDotsPerMeterY(dots_per_meter)
    return image


@dataclass(frozen=True)
class Fonts:
    """The figure's fonts at a scale (1.0: 11 pt title, 9 pt labels, 8 pt ticks)."""

    scale: float = 1.0

    def _font(self, points: float, bold: bool = False, italic: bool = False) -> QFont:
        font = QFont()
        font.setPointSizeF(max(3.0, points * self.scale))
        font.setBold(bold)
        font.setItalic(italic)
        return font

    @property
    def title(self) -> QFont:
        return self._font(11, bold=True)

    @property
    def label(self) -> QFont:
        return self._font(9)

    @property
    def axis(self) -> QFont:
        return self._font(9, italic=True)

    @property
    def tick(self) -> QFont:
        return self._font(8)


_DEVICE: QImage | None = None


def metrics(font: QFont) -> QFontMetricsF:
    global _DEVICE
    if _DEVICE is None:
        _DEVICE = _reference_device()
    return QFontMetricsF(font, _DEVICE)


def text_width(font: QFont, text: str) -> float:
    return metrics(font).horizontalAdvance(text)


def line_height(font: QFont) -> float:
    return metrics(font).height()


def shown_token(label: str) -> str:
    """A readable token (ViewState.token_labels) as a figure label: shortened when long. A bare
    whitespace label still shows, with the marks every view uses."""
    label = readable_token(label)
    return label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…"


def thinning_step(count: int, cell: float, needed: float) -> int:
    """Label every n-th token so labels ``needed`` points tall never overlap in ``cell`` cells."""
    if count == 0 or cell <= 0:
        return max(1, count)
    return max(1, math.ceil(needed / cell))


def draw_text(painter: QPainter, rect: QRectF, text: str, font: QFont,
              flags=Qt.AlignmentFlag.AlignCenter, rotation: float = 0.0) -> None:
    """Text in a rect; with a rotation, ``rect`` is in the rotated frame around its origin."""
    painter.save()
    painter.setFont(font)
    painter.setPen(TEXT_COLOR)
    if rotation:
        painter.translate(rect.topLeft())
        painter.rotate(rotation)
        rect = QRectF(0, 0, rect.width(), rect.height())
    painter.drawText(rect, int(flags), text)
    painter.restore()


def draw_title(painter: QPainter, rect: QRectF, text: str, fonts: Fonts) -> None:
    """A title that shrinks (down to 60%) before it is elided to fit the page width."""
    font = fonts.title
    fit = rect.width() / max(text_width(font, text), 1.0)
    if fit < 1.0:
        font.setPointSizeF(max(3.0, font.pointSizeF() * max(0.6, fit)))
    shown = metrics(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
    draw_text(painter, rect, shown, font)


def draw_matrix_image(painter: QPainter, rect: QRectF, image: QImage) -> None:
    """A heatmap image stretched over ``rect`` with nearest-neighbour sampling (crisp cells)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.drawImage(rect, image)
    painter.setPen(QPen(FRAME_COLOR, 0.5))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)
    painter.restore()


def tick_values(levels: tuple[float, float]) -> list[float]:
    low, high = levels
    return [low + (high - low) * i / 4 for i in range(5)]


def tick_text(value: float, levels: tuple[float, float]) -> str:
    if levels == (0.0, 1.0):
        return f"{value:g}"
    return f"{value:.3g}"


def key_entries(masked: bool, nan: bool = False,
                masked_label: str = MASKED_LABEL) -> list[tuple[str, tuple[int, int, int]]]:
    """The swatches under the colour bar, (label, colour): "masked" grey (or what grey means in
    that figure: ``masked_label``), "NaN" magenta."""
    return ([(masked_label, MASKED_COLOR)] if masked else []) + ([(NAN_LABEL, NAN_COLOR)] if nan else [])


def colorbar_width(fonts: Fonts, levels: tuple[float, float], masked: bool = False,
                   nan: bool = False, masked_label: str = MASKED_LABEL) -> float:
    """Points the colour bar needs: the gap before it, the bar, its ticks and their labels (and
    the keys' labels, written where the tick labels are)."""
    texts = [tick_text(v, levels) for v in tick_values(levels)] + [
        label for label, _ in key_entries(masked, nan, masked_label)]
    widest = max(text_width(fonts.tick, text) for text in texts)
    return (14 + 12 + 4) * fonts.scale + widest + 2


def colorbar_and_key(rect: QRectF, fonts: Fonts, masked: bool, nan: bool = False,
                     masked_label: str = MASKED_LABEL) -> tuple[QRectF, QRectF | None]:
    """The colour bar in ``rect`` and, when the figure has masked or NaN cells, their key at the
    bottom of ``rect`` (a swatch and a label a line), the bar shortened to leave it room."""
    entries = key_entries(masked, nan, masked_label)
    if not entries:
        return rect, None
    key_h = line_height(fonts.tick) * len(entries)
    # The bar's lowest tick label hangs half a line below the bar: keep the key clear of it.
    reserve = key_h + line_height(fonts.tick) * 0.6 + 4 * fonts.scale
    bar = QRectF(rect.left(), rect.top(), rect.width(), max(1.0, rect.height() - reserve))
    label = max(text_width(fonts.tick, text) for text, _ in entries)
    width = rect.width() + 3 * fonts.scale + 1 + label + 1
    return bar, QRectF(rect.left(), max(rect.top(), rect.bottom() - key_h), width, key_h)


def draw_keys(painter: QPainter, key: QRectF, bar_width: float, fonts: Fonts, masked: bool,
              nan: bool = False, masked_label: str = MASKED_LABEL) -> None:
    """Swatches as wide as the colour bar, one a line, labelled where the tick labels are."""
    entries = key_entries(masked, nan, masked_label)
    line = key.height() / max(len(entries), 1)
    painter.save()
    for row, (label, color) in enumerate(entries):
        top = key.top() + row * line
        swatch = QRectF(key.left(), top + line * 0.1, bar_width, line * 0.8)
        painter.fillRect(swatch, QColor(*color))
        painter.setPen(QPen(FRAME_COLOR, 0.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(swatch)
        left = swatch.right() + 3 * fonts.scale + 1
        draw_text(painter, QRectF(left, top, key.right() - left, line), label, fonts.tick,
                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    painter.restore()


def draw_colorbar(painter: QPainter, rect: QRectF, colormap: str, levels: tuple[float, float],
                  fonts: Fonts) -> None:
    """A vertical bar in ``rect`` (highest value at the top) with five labelled ticks."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.drawImage(rect, colorbar_image(colormap))
    painter.setPen(QPen(FRAME_COLOR, 0.5))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)
    low, high = levels
    tick = 3 * fonts.scale
    height = line_height(fonts.tick)
    for value in tick_values(levels):
        y = rect.bottom() - (value - low) / ((high - low) or 1.0) * rect.height()
        painter.setPen(QPen(FRAME_COLOR, 0.5))
        painter.drawLine(QPointF(rect.right(), y), QPointF(rect.right() + tick, y))
        label = QRectF(rect.right() + tick + 1, y - height / 2, 200, height)
        draw_text(painter, label, tick_text(value, levels), fonts.tick,
                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    painter.restore()
