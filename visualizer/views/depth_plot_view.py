"""DepthPlotView: per-token line plots across depth (residual norm, each norm's mean and std)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..state.app_state import AppState
from ..state.depth_series import depth_series, depth_stacks, shown_stack

PLOTS = (  # key, title, y label
    ("resid", "Residual-stream L2 norm per token, through the layers", "norm"),
    ("mean", "Each norm's input mean per token", "mean"),
    ("std", "Each norm's divisor (std) per token", "std"),
)
LOG_SCALABLE = ("resid", "std")  # plots whose values are always positive
FADED = (130, 170, 235, 150)  # every token: thin and translucent, so the crowd reads as a band
HIGHLIGHT = (255, 150, 0)  # the hovered token, drawn on top


class DepthPlotView(QWidget):
    """How every token's residual stream and norm statistics evolve with depth, for one stack.

    All tokens of a plot share one curve item (NaN-separated), so 512 tokens stay fluid. The
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
        self.shown_x_labels: dict[str, list[str]] = {}  # depth labels left after thinning

        self.stack_selector = QComboBox(objectName="depthStackSelector")
        self.stack_selector.currentIndexChanged.connect(self._on_stack_picked)
        self.caption = QLabel("Run a sentence to see how each token evolves with depth.")
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
        self.plots: dict[str, pg.PlotItem] = {}
        self.crowd: dict[str, pg.PlotDataItem] = {}
        self.highlight: dict[str, pg.PlotDataItem] = {}
        for row, (key, title, y_label) in enumerate(PLOTS):
            plot = self.graphics.addPlot(row=row, col=0, title=title)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setLabel("left", y_label)
            self.crowd[key] = plot.plot(pen=pg.mkPen(FADED, width=1), connect="finite")
            self.highlight[key] = plot.plot(pen=pg.mkPen(HIGHLIGHT, width=3), symbol="o", symbolSize=6,
                                            symbolBrush=HIGHLIGHT, symbolPen=None)
            self.highlight[key].setZValue(10)
            self.plots[key] = plot
            plot.getViewBox().sigResized.connect(lambda _box, key=key: self._update_x_ticks(key))
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_hovered)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)

        state.traceChanged.connect(self._on_trace_changed)
        state.selectionChanged.connect(self._on_selection_changed)
        state.optionsChanged.connect(self._on_options_changed)
        state.hoverChanged.connect(self._on_hover_changed)
        self._on_trace_changed(state.trace)

    # ---- state handlers ------------------------------------------------------
    def _on_trace_changed(self, trace) -> None:
        self.stack_selector.blockSignals(True)
        self.stack_selector.clear()
        for stack in depth_stacks(trace):
            self.stack_selector.addItem(stack, stack)
        self.stack_selector.blockSignals(False)
        self._draw(shown_stack(self.state))

    def _on_selection_changed(self) -> None:
        if shown_stack(self.state) != self.stack:  # the stack follows the attention kind
            self._draw(shown_stack(self.state))

    def _on_options_changed(self) -> None:
        self.log_scale.blockSignals(True)
        self.log_scale.setChecked(self.state.depth_log_scale)
        self.log_scale.blockSignals(False)
        for key in LOG_SCALABLE:  # means can be negative: their axis stays linear
            self.plots[key].setLogMode(y=self.state.depth_log_scale)
        if shown_stack(self.state) != self.stack:
            self._draw(shown_stack(self.state))

    def _on_hover_changed(self, side: str, position: int) -> None:
        show = side == self.side and 0 <= position < len(self.tokens)
        for key, item in self.highlight.items():
            if show and key in self.series:
                labels, values = self.series[key]
                item.setData(np.arange(len(labels)), values[position])
            else:
                item.setData([], [])
        self.caption.setText(f"Highlighted: {self.tokens[position]!r} (position {position}) of "
                             f"{len(self.tokens)} {self.stack} tokens" if show else self._summary)

    def _on_stack_picked(self, index: int) -> None:
        self.state.set_option(depth_stack=self.stack_selector.itemData(index) or "")

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
            self._summary = "Run a sentence to see how each token evolves with depth."
        else:
            self.side = "source" if stack == "encoder" else "target"
            self.tokens = list(trace.source_tokens if stack == "encoder" else trace.target_tokens)
            self.series = depth_series(trace, stack)
            self._summary = (f"{len(self.tokens)} {stack} tokens, one line each. "
                             "Hover a line (or a token anywhere) to highlight it.")
        for key, plot in self.plots.items():
            self._draw_plot(key, plot)
        self._on_hover_changed(*self.state.hover)

    def _draw_plot(self, key: str, plot: pg.PlotItem) -> None:
        if key not in self.series:
            self.crowd[key].setData([], [])
            plot.setVisible(key == "resid")  # RMSNorm has no mean: hide that plot, not an empty box
            return
        plot.setVisible(True)
        labels, values = self.series[key]
        tokens, points = values.shape
        # One NaN-separated polyline for all tokens: one item to draw instead of hundreds.
        xs = np.empty((tokens, points + 1))
        xs[:, :points] = np.arange(points)
        xs[:, points] = np.nan
        ys = np.full((tokens, points + 1), np.nan)
        ys[:, :points] = values
        self.crowd[key].setData(xs.ravel(), ys.ravel(), connect="finite")
        self._update_x_ticks(key)
        plot.enableAutoRange()

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
            self.graphics.setToolTip(f"{self.tokens[token]!r} (position {token}) at {labels[column]}: "
                                     f"{values[token, column]:.4g}")
            self.state.set_hover(self.side, token)
            return
        self.graphics.setToolTip("")
        if self.side:
            self.state.set_hover(self.side, -1)
