"""DepthPlotView: per-token line plots across depth (residual norm, each norm's mean and std)."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from engine.readable_tokens import at_position

from ..state.app_state import AppState
from ..state.depth_series import (
    LOG_SCALABLE,
    MAX_COLORED_TOKENS,
    PLOTS,
    depth_series,
    depth_stacks,
    point_meaning,
    shown_stack,
)
from . import look
from .offstage import offstage
from .token_axis import shorten

NO_TRACE = "Run a sentence to see how each token evolves with depth."


class DepthPlotView(QWidget):
    """How every token's residual stream and norm statistics evolve with depth, for one stack.

    Up to ``MAX_COLORED_TOKENS`` tokens each get a colour and a legend entry. Beyond that, all
    tokens of a plot share one faded curve item (NaN-separated), so 512 tokens stay fluid. The
    hovered token (from any pane) is drawn thick on top; hovering a line here publishes it.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("depthPlotView")
        self.state = state
        self.stack = ""
        self.side = ""
        self.tokens: list[str] = []
        # key -> (x tick labels, values [tokens, points]); absent when the stack lacks it
        self.series: dict[str, tuple[list[str], np.ndarray]] = {}
        self._summary = ""  # the caption while no token is highlighted
        self._stale = False  # a trace, selection or hover came while offstage: redraw when shown
        self.shown_x_labels: dict[str, list[str]] = {}  # depth labels left after thinning

        self.stack_selector = QComboBox(objectName="depthStackSelector")
        self.stack_selector.currentIndexChanged.connect(self._on_stack_picked)
        self.caption = QLabel(look.placeholder(state, NO_TRACE))
        self.caption.setWordWrap(True)  # a long caption must not set the view's minimum width
        header = QHBoxLayout()
        header.addWidget(QLabel("Stack:"))
        header.addWidget(self.stack_selector)
        header.addWidget(self.caption, 1)
        self.log_scale = QCheckBox("Log scale", objectName="depthLogScale")
        self.log_scale.setToolTip("Logarithmic norm and std axes: pre-LN residual streams grow by "
                                  "orders of magnitude with depth")
        self.log_scale.toggled.connect(lambda on: state.set_option(depth_log_scale=on))
        header.addWidget(self.log_scale)

        self.graphics = pg.GraphicsLayoutWidget()
        look.style_graphics(self.graphics)
        self.plots: dict[str, pg.PlotItem] = {}
        self.crowd: dict[str, pg.PlotDataItem] = {}  # many tokens: all of them in one faded item
        self.token_curves: dict[str, list[pg.PlotDataItem]] = {}  # few tokens: one coloured item each
        self.highlight: dict[str, pg.PlotDataItem] = {}
        for row, (key, title, y_label, x_label) in enumerate(PLOTS):
            plot = self.graphics.addPlot(row=row, col=0, enableMenu=False)
            plot.setTitle(title, color=look.TITLE_COLOR)
            plot.hideButtons()
            look.style_plot(plot)
            plot.showGrid(x=True, y=True, alpha=look.GRID_ALPHA)
            plot.setLabel("left", y_label, color=look.TEXT_COLOR)
            plot.setLabel("bottom", x_label, color=look.TEXT_COLOR)
            self.crowd[key] = plot.plot(pen=pg.mkPen(look.CROWD_COLOR, width=1), connect="finite")
            self.token_curves[key] = []
            self.highlight[key] = plot.plot(pen=pg.mkPen(look.HOVER_COLOR, width=3), symbol="o",
                                            symbolSize=6, symbolBrush=look.HOVER_COLOR, symbolPen=None)
            self.highlight[key].setZValue(10)
            self.plots[key] = plot
            plot.getViewBox().sigResized.connect(lambda _box, key=key: self._update_x_ticks(key))
        # One legend for the three plots: a token has the same colour in each.
        self.legend = pg.LegendItem(labelTextColor=look.TEXT_COLOR, pen=pg.mkPen("#bbbbbb"),
                                    brush=pg.mkBrush(255, 255, 255, 230))
        self.graphics.addItem(self.legend, row=0, col=1, rowspan=len(PLOTS))
        # As tall as its entries, at the top: stretched, its rows would spread over the whole height.
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.graphics.ci.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop)
        self.legend.hide()
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_hovered)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)

        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self._on_trace_changed(state.trace)

    # ---- state handlers ------------------------------------------------------
    def _put_off(self) -> bool:
        """Behind another tab: remember to redraw everything when shown, and do nothing now."""
        self._stale = self._stale or offstage(self)
        return self._stale

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._on_trace_changed(self.state.trace)

    def _on_trace_changed(self, trace) -> None:
        if self._put_off():
            return
        self.stack_selector.blockSignals(True)
        self.stack_selector.clear()
        for stack in depth_stacks(trace):
            self.stack_selector.addItem(stack, stack)
        self.stack_selector.blockSignals(False)
        self._draw(shown_stack(self.state))

    def _on_selection_changed(self) -> None:
        if not self._put_off() and shown_stack(self.state) != self.stack:  # it follows the kind
            self._draw(shown_stack(self.state))

    def _on_options_changed(self) -> None:
        self.log_scale.blockSignals(True)
        self.log_scale.setChecked(self.state.depth_log_scale)
        self.log_scale.blockSignals(False)
        for key in LOG_SCALABLE:  # means can be negative: their axis stays linear
            self.plots[key].setLogMode(y=self.state.depth_log_scale)
        if shown_stack(self.state) != self.stack:
            self._draw(shown_stack(self.state))

    def _on_loading_changed(self, _name: str) -> None:
        if not self.series:
            self._summary = look.placeholder(self.state, NO_TRACE)
            self._on_hover_changed(*self.state.hover)

    def _on_hover_changed(self, side: str, position: int) -> None:
        if self._put_off():
            return
        show = side == self.side and 0 <= position < len(self.tokens)
        for key, item in self.highlight.items():
            if show and key in self.series:
                labels, values = self.series[key]
                item.setData(np.arange(len(labels)), values[position])
            else:
                item.setData([], [])
        self.caption.setText(f"Highlighted: {at_position(self.tokens[position], position)} of "
                             f"{len(self.tokens)} {self.stack} tokens" if show else self._summary)

    def _on_stack_picked(self, index: int) -> None:
        self.state.set_option(depth_stack=self.stack_selector.itemData(index) or "")

    # ---- public --------------------------------------------------------------
    @property
    def colored(self) -> bool:
        """Whether each token has its own colour and legend entry (few tokens), not the crowd."""
        return 0 < len(self.tokens) <= MAX_COLORED_TOKENS

    def token_color(self, position: int) -> str:
        return look.TOKEN_COLORS[position % len(look.TOKEN_COLORS)]

    def legend_names(self) -> list[str]:
        """The legend's entries as a user reads them."""
        if not self.legend.isVisible():
            return []
        return [label.item.toPlainText() for _sample, label in self.legend.items]

    # ---- drawing ---------------------------------------------------------------
    def _draw(self, stack: str) -> None:
        trace = self.state.trace
        self.stack = stack
        index = self.stack_selector.findData(stack)
        self.stack_selector.blockSignals(True)
        self.stack_selector.setCurrentIndex(max(0, index))
        self.stack_selector.blockSignals(False)
        self.series = {}
        if trace is None or not stack:
            self.tokens, self.side = [], ""
            self._summary = look.placeholder(self.state, NO_TRACE)
        else:
            self.side = "source" if stack == "encoder" else "target"
            self.tokens = self.state.token_labels(self.side)  # readable, as every view shows them
            self.series = depth_series(trace, stack)
            count = f"{len(self.tokens)} {stack} tokens"
            lines = "one colour each (see the legend)" if self.colored else "one line each"
            self._summary = f"{count}, {lines}. Hover a line (or a token anywhere) to highlight it."
        for key, plot in self.plots.items():
            self._draw_plot(key, plot)
        self._fill_legend()
        self._on_hover_changed(*self.state.hover)

    def _draw_plot(self, key: str, plot: pg.PlotItem) -> None:
        curves = self.token_curves[key]
        if key not in self.series:
            self.crowd[key].setData([], [])
            for curve in curves:
                curve.setData([], [])
            plot.setVisible(key == "resid")  # RMSNorm has no mean: hide that plot, not an empty box
            return
        plot.setVisible(True)
        labels, values = self.series[key]
        tokens, points = values.shape
        x = np.arange(points)
        if self.colored:
            self.crowd[key].setData([], [])
            while len(curves) < tokens:
                curves.append(plot.plot(connect="finite"))
            for position, curve in enumerate(curves):
                if position < tokens:
                    curve.setPen(pg.mkPen(self.token_color(position), width=1.5))
                    curve.setData(x, values[position])
                else:
                    curve.setData([], [])
        else:
            for curve in curves:
                curve.setData([], [])
            # One NaN-separated polyline for all tokens: one item to draw instead of hundreds.
            xs = np.empty((tokens, points + 1))
            xs[:, :points] = x
            xs[:, points] = np.nan
            ys = np.full((tokens, points + 1), np.nan)
            ys[:, :points] = values
            self.crowd[key].setData(xs.ravel(), ys.ravel(), connect="finite")
        self._update_x_ticks(key)
        plot.enableAutoRange()

    def _fill_legend(self) -> None:
        self.legend.clear()
        if not self.colored or "resid" not in self.series:
            self.legend.hide()
            return
        for position, token in enumerate(self.tokens):
            # Legend labels are rich text: "<s>" would strike the rest through, "</s>" vanish.
            self.legend.addItem(self.token_curves["resid"][position],
                                html.escape(f"{shorten(token)} ({position})"))
        self.legend.show()

    def _update_x_ticks(self, key: str) -> None:
        """Label every k-th depth point so that labels never run into each other."""
        if key not in self.series:
            return
        labels = self.series[key][0]
        axis = self.plots[key].getAxis("bottom")
        metrics = QFontMetrics(axis.style.get("tickFont") or axis.font())
        label_pixels = max(metrics.horizontalAdvance(label) for label in labels) + 12
        width = max(self.plots[key].getViewBox().width(), 1.0)
        step = max(1, math.ceil(len(labels) * label_pixels / width))
        axis.setTicks([[(i, labels[i]) for i in range(0, len(labels), step)], []])
        self.shown_x_labels[key] = [labels[i] for i in range(0, len(labels), step)]

    # ---- mouse -----------------------------------------------------------------
    def _on_scene_hovered(self, scene_pos) -> None:
        for key, plot in self.plots.items():
            if key not in self.series or not plot.sceneBoundingRect().contains(scene_pos):
                continue
            point = plot.getViewBox().mapSceneToView(scene_pos)
            labels, values = self.series[key]
            column = int(round(point.x()))
            if not 0 <= column < len(labels):
                break
            column_values = values[:, column]
            if key in LOG_SCALABLE and self.state.depth_log_scale:  # the view's y is log10(value)
                column_values = np.log10(np.maximum(column_values, 1e-30))
            token = int(np.argmin(np.abs(column_values - point.y())))
            self.graphics.setToolTip(f"{at_position(self.tokens[token], token)} at "
                                     f"{point_meaning(key, labels[column])}: "
                                     f"{format(float(values[token, column]), '.3g')}")
            self.state.set_hover(self.side, token)
            return
        self.graphics.setToolTip("")
        if self.side:
            self.state.set_hover(self.side, -1)
