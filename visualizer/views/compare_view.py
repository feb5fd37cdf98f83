"""CompareView: the selected head of run A and run B side by side, and B − A on a diverging map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from engine.kinds import KINDS
from engine.readable_tokens import at_position

from ..state.app_state import AppState
from ..state.comparison import DIFFERENCE_COLORMAP, comparison
from ..widgets.file_menu import CHECKPOINT_FILTER
from . import look
from .offstage import offstage
from .token_axis import TokenAxis

NO_TRACE = "Run a sentence (run A), then give run B another input or a second checkpoint"
READOUT_HINT = "Hover a cell for A, B and B − A · red: more weight in B, blue: less"
PANELS = ("a", "b", "difference")


class CompareView(QWidget):
    """Three heatmaps of ``state.comparison``: A and B on one scale, B − A with levels ±max|B − A|.

    The second input box and "Open second checkpoint…" set the state's ``compare_source`` and
    ``compare_checkpoint``; the window's CompareController runs B and puts it in the state.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compareView")
        self.state = state
        self.shown = None  # the Comparison on screen, or None

        self.source_input = QLineEdit(objectName="compareSourceInput")
        self.source_input.setPlaceholderText("Run B's input (empty: the same as run A)")
        self.compare_button = QPushButton("Compare", objectName="compareButton")
        self.checkpoint_button = QPushButton("Open second checkpoint…", objectName="compareCheckpointButton")
        self.checkpoint_button.setToolTip("Run B with another checkpoint of the same architecture")
        self.same_model_button = QPushButton("Same model", objectName="compareSameModelButton")
        self.same_model_button.setToolTip("Run B with the open model again")
        self.message = QLabel(objectName="compareMessage", wordWrap=True)
        self.readout = QLabel(READOUT_HINT, objectName="compareReadout")
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.graphics = pg.GraphicsLayoutWidget()
        look.style_graphics(self.graphics)
        self.plots, self.images, self.bars, self.axes = {}, {}, {}, {}
        for column, name in enumerate(PANELS):
            axes = {"left": TokenAxis("left"), "bottom": TokenAxis("bottom")}
            plot = self.graphics.addPlot(row=0, col=column, axisItems=axes, enableMenu=False)
            plot.invertY(True)
            plot.hideButtons()
            look.style_plot(plot)
            image = pg.ImageItem(axisOrder="row-major")
            plot.addItem(image)
            colormap = DIFFERENCE_COLORMAP if name == "difference" else "viridis"
            bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(colormap),
                                  interactive=False, width=14, colorMapMenu=False)
            bar.setImageItem(image, insert_in=plot)
            look.style_color_bar(bar)
            self.plots[name], self.images[name], self.bars[name], self.axes[name] = plot, image, bar, axes
            self.graphics.ci.layout.setColumnStretchFactor(column, 1)  # three equal panels
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Run B:"))
        controls.addWidget(self.source_input, 1)
        controls.addWidget(self.compare_button)
        controls.addWidget(self.checkpoint_button)
        controls.addWidget(self.same_model_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)

        self.compare_button.clicked.connect(self.compare)
        self.source_input.returnPressed.connect(self.compare)
        self.checkpoint_button.clicked.connect(lambda: self.open_second_checkpoint())
        self.same_model_button.clicked.connect(lambda: state.set_option(compare_checkpoint=""))
        self._stale = False  # behind another tab when the state changed: draw when shown
        state.subscribe(self)
        self._on_options_changed()

    # ---- user actions -----------------------------------------------------------------------
    def compare(self) -> None:
        """Run B on what the box holds (the controller reruns it when the option changes)."""
        self.state.set_option(compare_source=self.source_input.text())

    def open_second_checkpoint(self, path: str | None = None) -> None:
        """Run B with the checkpoint at ``path`` (default: ask with a file dialog)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open a second checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.state.set_option(compare_checkpoint=str(path))

    # ---- state handlers ---------------------------------------------------------------------
    def _on_options_changed(self) -> None:
        state = self.state
        if self.source_input.text() != state.compare_source:
            self.source_input.setText(state.compare_source)
        self.same_model_button.setEnabled(bool(state.compare_checkpoint))
        for name in ("a", "b"):
            self.bars[name].setColorMap(pg.colormap.get(state.colormap))
        self.redraw()

    def _on_compare_changed(self) -> None:
        self.redraw()

    def _on_selection_changed(self) -> None:
        self.redraw()

    def _on_trace_changed(self, _trace) -> None:
        self.redraw()

    def _on_model_changed(self, _model) -> None:
        self.redraw()

    # ---- drawing ----------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._stale:
            self.redraw()

    def redraw(self) -> None:
        # Behind another tab it waits: run A's matrix of a lean trace is a layer replayed.
        self._stale = offstage(self)
        if self._stale:
            return
        state = self.state
        try:
            shown = comparison(state) if state.trace is not None else None
            message = "" if shown is not None else look.placeholder(state, NO_TRACE)
        except ValueError as error:  # no run B yet, its failure, or unequal shapes
            shown, message = None, str(error)
        self.shown = shown
        self.message.setText(message)
        self.message.setVisible(bool(message))
        for name in PANELS:
            plot, image, axes = self.plots[name], self.images[name], self.axes[name]
            if shown is None:
                image.clear()
                axes["left"].set_tokens([])
                axes["bottom"].set_tokens([])
                plot.setTitle("")
                continue
            selection = getattr(shown, name)
            matrix = np.ascontiguousarray(selection.matrix, dtype=np.float32)
            image.setImage(matrix, autoLevels=False)
            self.bars[name].setLevels(selection.levels)
            # B − A is labelled with A's tokens: "small/big" labels would crowd out the others;
            # the readout names both runs' tokens.
            labelled = shown.a if name == "difference" else selection
            axes["left"].set_tokens(list(labelled.query_tokens))
            axes["bottom"].set_tokens(list(labelled.key_tokens))
            plot.setTitle(selection.title, color=look.TITLE_COLOR, size="10pt")
            rows, cols = matrix.shape
            plot.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows)
            plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self.readout.setText(READOUT_HINT)

    # ---- hover -------------------------------------------------------------------------------
    def cell_text(self, row: int, col: int) -> str:
        """'"le" #1 → "small/big" #1: A 0.912, B 0.951, B − A +0.0391'."""
        view = self.shown
        values = [float(getattr(view, name).matrix[row, col]) for name in PANELS]
        cell = (f"{at_position(view.difference.query_tokens[row], row)} → "
                f"{at_position(view.difference.key_tokens[col], col)}")
        return f"{cell}: A {values[0]:.3g}, B {values[1]:.3g}, B − A {values[2]:+.3g}"

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self.shown is None:
            return
        for plot in self.plots.values():
            if plot.sceneBoundingRect().contains(scene_pos):
                point = plot.vb.mapSceneToView(scene_pos)
                row, col = int(np.floor(point.y())), int(np.floor(point.x()))
                rows, cols = self.shown.difference.matrix.shape
                if 0 <= row < rows and 0 <= col < cols:
                    self.readout.setText(self.cell_text(row, col))
                    self.state.set_hover(KINDS[self.state.kind].queries, row)
                    return
        self.readout.setText(READOUT_HINT)
