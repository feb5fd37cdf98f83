"""ActivationView: any recorded hook as a tokens x features heatmap, diverging around zero."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from engine.readable_tokens import at_position

from ..state.activation_hooks import (
    DIVERGING_COLORMAP,
    STACK_LEVEL,
    activation_levels,
    can_show,
    hook_name,
    matrix_of,
    points_of,
    shown_head,
    shown_hook,
    split_hook,
    token_side,
)
from ..state.app_state import AppState
from . import look
from .hover_marks import HoverMarks
from .lean_layer_reader import LeanLayerReader
from .offstage import offstage
from .token_axis import TokenAxis

NO_TRACE = "Run a sentence to see its activations."


def value_range(matrix: np.ndarray, nan: np.ndarray | None) -> str:
    """"min -1.2, max 3.4" over the numbers, and how many cells are NaN (shown magenta)."""
    values = matrix[~nan] if nan is not None else matrix
    text = f"min {values.min():.3g}, max {values.max():.3g}" if values.size else "no numbers"
    return text + (f"; {int(nan.sum())} NaN (magenta)" if nan is not None else "")


class ActivationView(QWidget):
    """Pick a hook by stack, layer and point (and head for q/k/v/z); see it as a heatmap.

    Rows are token positions, columns features. Levels are symmetric, so white means 0.
    Hovering a row publishes it as ``state.hover``; other views' hovers are outlined here. A
    lean trace's layer is read off the GUI thread ("computing layer N…"), then drawn.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("activationView")
        self.state = state
        self.matrix: np.ndarray | None = None  # exactly what the image shows
        self.row_tokens: list[str] = []  # the readable row labels shown
        self.side = ""  # "source" or "target": whose positions the rows are
        self.hook = ""  # the hook drawn (state.hook, or the default before one is chosen)
        self._syncing = False  # True while combos are refilled: their signals are not the user's
        self._stale = False  # a lean layer's read put off while offstage: read it when shown

        self.stack_selector = QComboBox(objectName="activationStackSelector")
        self.layer_selector = QComboBox(objectName="activationLayerSelector")
        self.point_selector = QComboBox(objectName="activationPointSelector")
        self.head_selector = QComboBox(objectName="activationHeadSelector")
        self.clip_outliers = QCheckBox("Clip outliers (99th percentile)")
        self.clip_outliers.setToolTip("Scale colors to the 99th percentile of |value|, so a few huge "
                                      "features do not wash out the rest")
        for box in (self.stack_selector, self.layer_selector, self.point_selector, self.head_selector):
            box.currentIndexChanged.connect(self._on_control_changed)
        self.clip_outliers.toggled.connect(lambda on: state.set_option(clip_outliers=on))
        self.caption = QLabel(look.placeholder(state, NO_TRACE))
        controls = QHBoxLayout()
        for title, box in (("Stack:", self.stack_selector), ("Layer:", self.layer_selector),
                           ("Point:", self.point_selector), ("Head:", self.head_selector)):
            controls.addWidget(QLabel(title))
            controls.addWidget(box)
        controls.addWidget(self.clip_outliers)
        controls.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        look.style_graphics(self.graphics)
        self.token_axis = TokenAxis("left")  # thins its labels to the room it has, at any zoom
        self.plot = self.graphics.addPlot(axisItems={"left": self.token_axis}, enableMenu=False)
        look.style_plot(self.plot)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.getAxis("bottom").setLabel("feature")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setPos(-0.5, 0)  # feature j is centred on the x tick j, not starting at it
        self.plot.addItem(self.image)
        self.nan_image = look.nan_overlay()  # NaN would show as the white of 0 without it
        self.nan_image.setPos(-0.5, 0)
        self.plot.addItem(self.nan_image)
        self.nan: np.ndarray | None = None  # True where the shown value is NaN
        self.color_bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get(DIVERGING_COLORMAP),
                                         interactive=False, width=12)
        self.color_bar.setImageItem(self.image, insert_in=self.plot)
        look.style_color_bar(self.color_bar)
        self.head_lines: list[pg.InfiniteLine] = []
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_hovered)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.caption)
        layout.addWidget(self.graphics, 1)

        self.layer_reader = LeanLayerReader(self)
        self.layer_reader.loaded.connect(lambda: self._show(shown_hook(self.state)))
        self.layer_reader.failed.connect(lambda message: self.caption.setText(
            f"Could not compute the layer: {message}"))
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        # The hovered token's row, whichever pane it was hovered in (the hook's rows are tokens).
        self.hover_marks = HoverMarks(state, self.plot, lambda: (self.side, ""),
                                      lambda: None if self.matrix is None else self.matrix.shape, -0.5)
        self._on_trace_changed(state.trace)

    # ---- state handlers ------------------------------------------------------
    def _on_trace_changed(self, trace) -> None:
        stacks = [] if trace is None else [s for s in ("encoder", "decoder")
                                           if any(split_hook(h)[0] == s for h in trace.activations)]
        self._refill(self.stack_selector, [(s, s) for s in stacks])
        self._show(shown_hook(self.state))

    def _on_selection_changed(self) -> None:
        if shown_hook(self.state) != self.hook:
            self._show(shown_hook(self.state))

    def _on_options_changed(self) -> None:
        self.clip_outliers.blockSignals(True)
        self.clip_outliers.setChecked(self.state.clip_outliers)
        self.clip_outliers.blockSignals(False)
        self._show(shown_hook(self.state))

    def _on_loading_changed(self, _name: str) -> None:
        if self.matrix is None and not self.layer_reader.pending:
            self.caption.setText(look.placeholder(self.state, NO_TRACE))

    # ---- controls --------------------------------------------------------------
    def _on_control_changed(self) -> None:
        if self._syncing or self.state.trace is None:
            return
        stack = self.stack_selector.currentData()
        layer = self.layer_selector.currentData()
        point = self.point_selector.currentData()
        # A new stack or layer keeps the point when it exists there (resid_post in layer 2 → 3).
        self._sync_controls(stack, layer, point, self.head_selector.currentData())
        hook = hook_name(self.stack_selector.currentData(), self.layer_selector.currentData(),
                         self.point_selector.currentData())
        head = self.head_selector.currentData()
        if hook != self.state.hook and can_show(self.state.trace, hook):
            self.state.set_selection(hook=hook)  # _on_selection_changed draws it
        if head is not None:
            self.state.set_option(activation_head=head)  # _on_options_changed draws it

    def _sync_controls(self, stack, layer, point, head) -> None:
        """Refill the dependent combos for (stack, layer) and select the given items."""
        trace = self.state.trace
        self._syncing = True
        try:
            self._select(self.stack_selector, stack)
            stack = self.stack_selector.currentData()
            layers = sorted({split_hook(h)[1] for h in trace.activations if split_hook(h)[0] == stack})
            self._refill(self.layer_selector, [(str(v) if v != STACK_LEVEL else "embed / final", v)
                                               for v in layers])
            self._select(self.layer_selector, layer)
            points = points_of(trace, stack, self.layer_selector.currentData())
            self._refill(self.point_selector, [(p, p) for p in points])
            self._select(self.point_selector, point)
            hook = hook_name(stack, self.layer_selector.currentData(), self.point_selector.currentData())
            array = trace.activations.get(hook)
            heads = array.shape[0] if array is not None and array.ndim == 3 else 0
            self._refill(self.head_selector, [("all heads", "all")] + [(str(h), h) for h in range(heads)])
            self._select(self.head_selector, head)
            self.head_selector.setEnabled(heads > 0)
        finally:
            self._syncing = False

    # ---- drawing ---------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._show(shown_hook(self.state))

    def _show(self, hook: str) -> None:
        trace = self.state.trace
        self.hook = hook
        self._stale = False
        if trace is None or not hook:
            self.matrix = self.nan = None
            self.image.clear()
            look.set_mask_image(self.nan_image, None)
            self.hover_marks.refresh()
            self.caption.setText(look.placeholder(self.state, NO_TRACE))
            return
        stack, layer, point = split_hook(hook)
        head = shown_head(self.state, hook)
        self._sync_controls(stack, layer, point, head)
        # A lean trace's layer is read on a pool thread (behind another tab: once shown).
        array = self.layer_reader.values(trace, hook, start=not offstage(self))
        if array is None:
            self._stale = offstage(self)
            self.caption.setText(f"computing layer {layer}…")
            return
        self.matrix = matrix_of(array, head)
        self.side = token_side(hook)
        self.row_tokens = self.state.token_labels(self.side)
        self.image.setImage(self.matrix, autoLevels=False)
        self.nan = look.nan_cells(self.matrix)
        look.set_mask_image(self.nan_image, self.nan, look.NAN_LUT)
        self._apply_levels()
        self._draw_head_separators(array, head)
        self.plot.getViewBox().autoRange(padding=0)
        self.token_axis.set_tokens(self.row_tokens)
        what = f"head {head} of " if array.ndim == 3 and head != "all" else ""
        self.caption.setText(f"{what}{hook}: {self.matrix.shape[0]} tokens × {self.matrix.shape[1]} "
                             f"features; {value_range(self.matrix, self.nan)}")
        self.hover_marks.refresh()

    def _apply_levels(self) -> None:
        if self.matrix is not None:
            self.color_bar.setLevels(activation_levels(self.matrix, self.state.clip_outliers))

    def _draw_head_separators(self, array: np.ndarray, head) -> None:
        for line in self.head_lines:
            self.plot.removeItem(line)
        self.head_lines = []
        if array.ndim == 3 and head == "all":
            width = array.shape[2]
            for h in range(1, array.shape[0]):
                line = pg.InfiniteLine(pos=h * width - 0.5, angle=90, pen=pg.mkPen((90, 90, 90), width=1))
                self.plot.addItem(line)
                self.head_lines.append(line)

    # ---- mouse -----------------------------------------------------------------
    def _on_scene_hovered(self, scene_pos) -> None:
        if self.matrix is None:
            return
        point = self.image.mapFromScene(scene_pos)
        row, col = math.floor(point.y()), math.floor(point.x())
        inside = 0 <= row < self.matrix.shape[0] and 0 <= col < self.matrix.shape[1]
        if not inside:
            self.graphics.setToolTip("")
            self.state.set_hover(self.side, -1)
            return
        value = self.matrix[row, col]
        shown = "NaN" if np.isnan(value) else format(float(value), ".3g")
        self.graphics.setToolTip(f"{at_position(self.row_tokens[row], row)} · feature {col}: {shown}")
        self.state.set_hover(self.side, row)

    # ---- helpers ---------------------------------------------------------------
    def _refill(self, box: QComboBox, items) -> None:
        if [(box.itemText(i), box.itemData(i)) for i in range(box.count())] == list(items):
            return
        box.blockSignals(True)
        box.clear()
        for text, data in items:
            box.addItem(text, data)
        box.blockSignals(False)

    @staticmethod
    def _select(box: QComboBox, data) -> None:
        index = box.findData(data)
        box.blockSignals(True)
        box.setCurrentIndex(index if index >= 0 else 0)
        box.blockSignals(False)
