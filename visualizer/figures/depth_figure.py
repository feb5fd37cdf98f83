"""DepthFigure: the depth pane's plots as a paper-ready figure.

Stacked plots of one stack (the residual stream's L2 norm per token, then each norm's input mean
and std), with the pane's readable depth labels, y ticks, a light grid and, for up to 12 tokens,
one colour and one legend entry each; longer inputs are one thin translucent crowd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from engine.kinds import KINDS

from ..state.depth_series import LOG_SCALABLE, MAX_COLORED_TOKENS, PLOTS, depth_series, shown_stack
from ..state.line_selection import CROWD_RGBA, PALETTE
from .painting import (
    FRAME_COLOR,
    Fonts,
    draw_text,
    draw_title,
    line_height,
    metrics,
    shown_token,
    text_width,
    thinning_step,
)
from .value_axis import ValueAxis, linear_axis, log_axis

CROWD_COLOR = QColor(*CROWD_RGBA)
GRID_COLOR = QColor(225, 225, 225)
MINOR_GRID_COLOR = QColor(242, 242, 242)
NATURAL_PLOT_HEIGHT = 150.0  # points
PLOT_WIDTH_RANGE = (320.0, 960.0)  # points: short stacks stay legible, deep ones stay on a page


@dataclass(frozen=True)
class DepthPlot:
    """What one plot draws: ``values [tokens, points]`` at the depth ``labels``."""

    key: str
    title: str
    y_title: str
    x_title: str
    labels: tuple[str, ...]
    values: np.ndarray
    axis: ValueAxis


@dataclass(frozen=True)
class PlotLayout:
    """Where one plot goes, in points, and how a (point, value) maps onto it."""

    plot: DepthPlot
    header: QRectF  # the plot's title
    rect: QRectF  # the plotting area, framed
    x_labels: QRectF  # the band of depth labels under it
    x_title: QRectF
    rotated: bool  # depth labels read upwards (they do not fit side by side)
    step: int  # every step-th depth label is written

    def x(self, index: float) -> float:
        return self.rect.left() + (index + 0.5) * self.rect.width() / max(len(self.plot.labels), 1)

    def y(self, coordinate: float) -> float:
        axis = self.plot.axis
        share = (coordinate - axis.low) / ((axis.high - axis.low) or 1.0)
        return self.rect.bottom() - share * self.rect.height()

    def point(self, index: int, value: float) -> QPointF:
        """Where the value of depth point ``index`` is drawn."""
        return QPointF(self.x(index), self.y(float(self.plot.axis.coordinate(value))))


@dataclass(frozen=True)
class DepthLayout:
    fonts: Fonts
    title: QRectF
    plots: tuple[PlotLayout, ...]
    legend: QRectF | None  # None: no legend (more than MAX_COLORED_TOKENS tokens)
    legend_row: float  # the height of one legend entry

    def plot(self, key: str) -> PlotLayout:
        return next(p for p in self.plots if p.plot.key == key)


class DepthFigure:
    """The depth pane's plots for one stack of a trace.

    ``series`` is ``depth_series(trace, stack)``; plots the stack lacks (RMSNorm has no mean)
    are left out. ``log_scale`` puts the norm and std plots on log10 axes with decade ticks.
    """

    def __init__(self, series: dict[str, tuple[list[str], np.ndarray]], tokens: list[str], stack: str,
                 model: str = "", log_scale: bool = False):
        if "resid" not in series:
            raise ValueError(f"the {stack or 'chosen'} stack records no residual stream to plot")
        self.stack = stack
        self.tokens = list(tokens)
        self.names = [f"{shown_token(token)} ({position})" for position, token in enumerate(self.tokens)]
        self.colored = 0 < len(self.tokens) <= MAX_COLORED_TOKENS
        self.log_scale = log_scale
        plots = []
        for key, title, y_title, x_title in PLOTS:
            if key not in series:
                continue
            labels, values = series[key]
            values = np.asarray(values, dtype=np.float64)
            log = log_scale and key in LOG_SCALABLE
            axis = log_axis(values) if log else linear_axis(values)
            plots.append(DepthPlot(key, title, y_title + (", log scale" if log else ""), x_title,
                                   tuple(labels), values, axis))
        self.plots = tuple(plots)
        what = f"depth: residual stream and norm statistics, {stack} stack"
        if not self.colored:
            what += f", {len(self.tokens)} tokens"
        self.title = f"{model} — {what}" if model else what

    @classmethod
    def of_state(cls, state) -> DepthFigure:
        """The figure of what the depth pane shows: its stack, tokens and log scale."""
        stack = shown_stack(state)
        if not stack:
            raise ValueError("nothing to export yet: run a sentence first")
        side = KINDS["encoder" if stack == "encoder" else "decoder"].queries
        return cls(depth_series(state.trace, stack), state.token_labels(side), stack,
                   state.model_name(), state.depth_log_scale)

    def color(self, position: int) -> QColor:
        """A token's colour: the shared palette, cycled (only ``colored`` figures use it)."""
        return QColor(PALETTE[position % len(PALETTE)])

    # ---- geometry -------------------------------------------------------------------
    def _label_width(self, fonts: Fonts, plot: DepthPlot) -> float:
        return max(text_width(fonts.tick, label) for label in plot.labels)

    def _left_width(self, fonts: Fonts) -> float:
        """From the page edge to the plots: the y title, the tick labels and the tick marks."""
        s = fonts.scale
        ticks = max(text_width(fonts.tick, text) for plot in self.plots for _v, text in plot.axis.ticks)
        return 10 * s + line_height(fonts.axis) + 4 * s + ticks + 6 * s

    def _legend_width(self, fonts: Fonts) -> float:
        if not self.colored:
            return 0.0
        s = fonts.scale
        names = max(text_width(fonts.tick, name) for name in self.names)
        header = text_width(fonts.axis, "token (position)")
        return 14 * s + 6 * s + max(22 * s + names, header) + 6 * s

    def _legend_height(self, fonts: Fonts) -> float:
        if not self.colored:
            return 0.0
        rows = len(self.tokens) * line_height(fonts.tick) * 1.25
        return line_height(fonts.axis) * 1.4 + rows + 6 * fonts.scale

    def _x_band(self, fonts: Fonts, plot: DepthPlot, width: float) -> tuple[bool, int, float]:
        """(rotated, step, height) of the depth labels under a plot ``width`` points wide."""
        s = fonts.scale
        cell = width / max(len(plot.labels), 1)
        if self._label_width(fonts, plot) + 4 * s <= cell:
            return False, 1, line_height(fonts.tick) + 3 * s
        step = thinning_step(len(plot.labels), cell, line_height(fonts.tick) * 0.95)
        return True, step, self._label_width(fonts, plot) + 6 * s

    def _fixed_height(self, fonts: Fonts, width: float) -> float:
        """Everything but the plotting areas, for plots ``width`` points wide."""
        s = fonts.scale
        per_plot = sum(line_height(fonts.label) * 1.4 + self._x_band(fonts, plot, width)[2]
                       + line_height(fonts.axis) for plot in self.plots)
        return 2 * 10 * s + line_height(fonts.title) * 1.3 + per_plot + 10 * s * (len(self.plots) - 1)

    def natural_size(self) -> QSizeF:
        """Every depth label side by side (within 320..960 pt), 150 pt per plot."""
        fonts = Fonts()
        low, high = PLOT_WIDTH_RANGE
        points = max(len(plot.labels) for plot in self.plots)
        plot_w = min(high, max(low, points * (max(self._label_width(fonts, p) for p in self.plots) + 10)))
        width = max(self._left_width(fonts) + plot_w + self._legend_width(fonts) + 10,
                    text_width(fonts.title, self.title) + 20)
        plots_h = len(self.plots) * NATURAL_PLOT_HEIGHT
        title_h = 2 * 10 + line_height(fonts.title) * 1.3 + line_height(fonts.label) * 1.4
        height = max(self._fixed_height(fonts, plot_w) + plots_h, title_h + self._legend_height(fonts) + 10)
        return QSizeF(math.ceil(width), math.ceil(height))

    def layout(self, size: QSizeF) -> DepthLayout:
        """Fonts grow or shrink with the page (0.45x..2x); the plots share the rest."""
        natural = self.natural_size()
        ratio = min(size.width() / natural.width(), size.height() / natural.height())
        fonts = Fonts(min(2.0, max(0.45, ratio)))
        s = fonts.scale
        pad = 10 * s
        title_h = line_height(fonts.title) * 1.3
        left = self._left_width(fonts)
        legend_w = self._legend_width(fonts)
        plot_w = max(1.0, size.width() - left - legend_w - pad)
        plot_h = max(1.0, (size.height() - self._fixed_height(fonts, plot_w)) / len(self.plots))
        y = pad + title_h
        plots = []
        for plot in self.plots:
            header = QRectF(left, y, plot_w, line_height(fonts.label) * 1.4)
            rect = QRectF(left, header.bottom(), plot_w, plot_h)
            rotated, step, band_h = self._x_band(fonts, plot, plot_w)
            band = QRectF(left, rect.bottom(), plot_w, band_h)
            x_title = QRectF(left, band.bottom(), plot_w, line_height(fonts.axis))
            plots.append(PlotLayout(plot, header, rect, band, x_title, rotated, step))
            y = x_title.bottom() + 10 * s
        legend = None
        if self.colored:
            top = plots[0].rect.top()
            height = min(self._legend_height(fonts), size.height() - pad - top)
            legend = QRectF(left + plot_w + 14 * s, top, legend_w - 14 * s, max(1.0, height))
        rows = max(len(self.tokens), 1)
        legend_row = line_height(fonts.tick) * 1.25
        if legend is not None:
            room = legend.height() - line_height(fonts.axis) * 1.4 - 6 * s
            legend_row = max(1.0, min(legend_row, room / rows))
        return DepthLayout(fonts, QRectF(pad, pad, size.width() - 2 * pad, title_h), tuple(plots),
                           legend, legend_row)

    # ---- painting -----------------------------------------------------------------------
    def paint(self, painter: QPainter, size: QSizeF, vector: bool = False) -> None:
        layout = self.layout(size)
        fonts = layout.fonts
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        draw_title(painter, layout.title, self.title, fonts)
        for plot_layout in layout.plots:
            self._paint_grid(painter, plot_layout, fonts)
            self._paint_lines(painter, plot_layout, fonts)
            self._paint_axes(painter, plot_layout, fonts)
        if layout.legend is not None:
            self._paint_legend(painter, layout)

    def _paint_grid(self, painter: QPainter, place: PlotLayout, fonts: Fonts) -> None:
        rect, axis = place.rect, place.plot.axis
        painter.save()
        painter.setPen(QPen(MINOR_GRID_COLOR, 0.5))
        for value in axis.minor:
            painter.drawLine(QPointF(rect.left(), place.y(value)), QPointF(rect.right(), place.y(value)))
        painter.setPen(QPen(GRID_COLOR, 0.6))
        for value, _text in axis.ticks:
            painter.drawLine(QPointF(rect.left(), place.y(value)), QPointF(rect.right(), place.y(value)))
        for i in range(0, len(place.plot.labels), place.step):
            painter.drawLine(QPointF(place.x(i), rect.top()), QPointF(place.x(i), rect.bottom()))
        painter.restore()

    def _paint_lines(self, painter: QPainter, place: PlotLayout, fonts: Fonts) -> None:
        s = fonts.scale
        coordinates = place.plot.axis.coordinate(place.plot.values)
        xs = [place.x(i) for i in range(coordinates.shape[1])]
        painter.save()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for position, row in enumerate(coordinates):
            path = QPainterPath()
            drawing = False
            for x, value in zip(xs, row, strict=True):
                if not math.isfinite(value):
                    drawing = False
                    continue
                point = QPointF(x, place.y(value))
                if drawing:
                    path.lineTo(point)
                else:
                    path.moveTo(point)
                    drawing = True
            if not self.colored:
                painter.setPen(QPen(CROWD_COLOR, 0.8 * s))
                painter.drawPath(path)
                continue
            color = self.color(position)
            pen = QPen(color, 1.5 * s)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawPath(path)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            radius = 2.4 * s
            for x, value in zip(xs, row, strict=True):
                if math.isfinite(value):
                    painter.drawEllipse(QPointF(x, place.y(value)), radius, radius)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.restore()

    def _paint_axes(self, painter: QPainter, place: PlotLayout, fonts: Fonts) -> None:
        s = fonts.scale
        rect, plot = place.rect, place.plot
        draw_text(painter, place.header, plot.title, fonts.label,
                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.save()
        painter.setPen(QPen(FRAME_COLOR, 0.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        tick_h = line_height(fonts.tick)
        step = thinning_step(len(plot.axis.ticks), rect.height() / max(len(plot.axis.ticks) - 1, 1), tick_h)
        for value, text in plot.axis.ticks[::step]:  # a short plot labels fewer ticks, never overlapping
            y = place.y(value)
            painter.drawLine(QPointF(rect.left() - 3 * s, y), QPointF(rect.left(), y))
            label = QRectF(rect.left() - 400, y - tick_h / 2, 400 - 5 * s, tick_h)
            draw_text(painter, label, text, fonts.tick,
                      Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        band = place.x_labels
        for i in range(0, len(plot.labels), place.step):
            x = place.x(i)
            painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 3 * s))
            if place.rotated:  # reads upwards and ends just under the plot
                origin = QRectF(x - tick_h / 2, band.bottom(), band.height() - 4 * s, tick_h)
                draw_text(painter, origin, plot.labels[i], fonts.tick,
                          Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, rotation=-90)
            else:
                cell = rect.width() / len(plot.labels)
                draw_text(painter, QRectF(x - cell / 2, band.top() + 3 * s, cell, tick_h), plot.labels[i],
                          fonts.tick)
        painter.restore()
        draw_text(painter, place.x_title, plot.x_title, fonts.axis)
        axis_h = line_height(fonts.axis)
        # Rotated -90° around the rect's origin: the title runs up the plot's left side, centred.
        beside = QRectF(10 * s, rect.bottom(), rect.height(), axis_h)
        # Elided to the plot's height, so a small page keeps it beside its plot.
        shown = metrics(fonts.axis).elidedText(plot.y_title, Qt.TextElideMode.ElideRight, rect.height())
        draw_text(painter, beside, shown, fonts.axis, rotation=-90)

    def _paint_legend(self, painter: QPainter, layout: DepthLayout) -> None:
        fonts, box = layout.fonts, layout.legend
        s = fonts.scale
        painter.save()
        painter.setPen(QPen(QColor(187, 187, 187), 0.6))
        painter.setBrush(QColor("white"))
        painter.drawRect(box)
        header_h = line_height(fonts.axis) * 1.4
        draw_text(painter, QRectF(box.left() + 6 * s, box.top() + 3 * s, box.width() - 6 * s, header_h),
                  "token (position)", fonts.axis, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        row = layout.legend_row
        for position, name in enumerate(self.names):
            top = box.top() + 3 * s + header_h + position * row
            middle = top + row / 2
            pen = QPen(self.color(position), 1.5 * s)
            painter.setPen(pen)
            painter.drawLine(QPointF(box.left() + 6 * s, middle), QPointF(box.left() + 24 * s, middle))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.color(position))
            painter.drawEllipse(QPointF(box.left() + 15 * s, middle), 2.4 * s, 2.4 * s)
            draw_text(painter, QRectF(box.left() + 28 * s, top, box.width() - 30 * s, row), name, fonts.tick,
                      Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.restore()
