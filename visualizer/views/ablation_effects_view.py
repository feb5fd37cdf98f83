"""AblationEffectsView: under the heatmap, what the ablated heads change in the output.

Shown only while heads are ablated. The output before and after, and per position the change in
the probability of the unablated run's next token (bars, labelled by that token) and
KL(unablated ‖ ablated) (bars, nats),
computed in the background from ``engine.ablation_effects`` and exportable as data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.readable_tokens import readable_tokens

from ..export.data_files import export_data
from ..state.ablation_sets import effects_request, effects_table
from ..state.app_state import AppState
from ..sweep_controller import SweepController
from . import look
from .token_axis import TokenAxis

PLOT_HEIGHT = 170
DROP_BRUSH, GAIN_BRUSH, KL_BRUSH = (200, 60, 60), (60, 120, 200), (90, 90, 90)


class AblationEffectsView(QWidget):
    """Follows the trace: a trace with ablated heads gets its effects computed and drawn."""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ablationEffectsView")
        self.state = state
        self.effects = None  # engine.ablation_effects.AblationEffects on screen
        self._key: tuple | None = None  # what they were computed for
        self._watching_window = False
        self.controller = SweepController(self)
        self.outputs = QLabel(objectName="ablationOutputs", wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.export_button = QPushButton("Export effects…", objectName="ablationEffectsExportButton")
        self.export_button.setToolTip("Save p_before, p_after, delta_prob and kl per position (NPZ or CSV)")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFixedHeight(PLOT_HEIGHT)
        look.style_graphics(self.graphics)
        self.delta_axis, self.kl_axis = TokenAxis("bottom"), TokenAxis("bottom")
        self.delta_plot = self.graphics.addPlot(axisItems={"bottom": self.delta_axis}, enableMenu=False)
        self.kl_plot = self.graphics.addPlot(axisItems={"bottom": self.kl_axis}, enableMenu=False)
        for plot, title in ((self.delta_plot, "Δ p(the unablated run's next token), after − before"),
                            (self.kl_plot, "KL(unablated ‖ ablated) of the next token, nats")):
            look.style_plot(plot)
            plot.hideButtons()
            plot.setMouseEnabled(False, False)
            plot.setTitle(title, color=look.TITLE_COLOR, size="9pt")
        self.delta_plot.addLine(y=0, pen=pg.mkPen(look.AXIS_COLOR, width=1))
        self.delta_plot.setYRange(-1, 1, padding=0.05)
        header = QHBoxLayout()
        header.addWidget(self.outputs, 1)
        header.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.graphics)

        self.export_button.clicked.connect(self._on_export_clicked)
        self.controller.finished.connect(self._on_effects_ready)
        self.controller.failed.connect(lambda message: self.outputs.setText(f"Ablation effects: {message}"))
        state.subscribe(self)
        self._on_trace_changed(state.trace)

    # ---- state handlers ---------------------------------------------------------------------
    def _on_trace_changed(self, _trace) -> None:
        request = effects_request(self.state)
        self.setVisible(request is not None)
        if request is None:
            self.controller.cancel(quiet=True)
            self.effects, self._key = None, None
            return
        if request.key != self._key:
            self.outputs.setText("Measuring what the ablation changes…")
            self._watch_window()
            self.controller.start(request)

    def _on_model_changed(self, _model) -> None:
        self._on_trace_changed(None)

    def _on_effects_ready(self, request, effects) -> None:
        self.effects, self._key = effects, request.key
        self.draw()

    # ---- drawing ----------------------------------------------------------------------------
    def draw(self) -> None:
        effects = self.effects
        count = len(effects.ablated)
        self.outputs.setText(f"{count} head{'s' * (count != 1)} ablated. Before: {effects.before_text}\n"
                             f"After:  {effects.after_text}")
        # Labelled by the token whose probability the bar shows: "chat" reads "p(chat) fell by 0.8".
        tokens = readable_tokens(effects.top_tokens, effects.token_style)
        x = np.arange(len(tokens)) + 0.5
        delta = effects.delta_prob.astype(np.float64)
        brushes = [pg.mkBrush(*(DROP_BRUSH if d < 0 else GAIN_BRUSH)) for d in delta]
        for plot, axis, values, brush in ((self.delta_plot, self.delta_axis, delta, brushes),
                                          (self.kl_plot, self.kl_axis, effects.kl.astype(np.float64),
                                           pg.mkBrush(*KL_BRUSH))):
            for item in [i for i in plot.items if isinstance(i, pg.BarGraphItem)]:
                plot.removeItem(item)
            kwargs = {"brushes": brush} if isinstance(brush, list) else {"brush": brush}
            plot.addItem(pg.BarGraphItem(x=x, height=values, width=0.7, pen=pg.mkPen(None), **kwargs))
            axis.set_tokens(tokens)
            plot.setXRange(0, len(tokens), padding=0)
        high = float(np.nanmax(effects.kl)) if effects.kl.size else 0.0
        self.kl_plot.setYRange(0, high if high > 0 else 1e-3, padding=0.05)

    def export(self, path=None) -> Path | None:
        """Write the effects (NPZ or CSV by suffix); asks for a file when ``path`` is None."""
        if self.effects is None:
            return None
        if path is None:
            path, _chosen = QFileDialog.getSaveFileName(self, "Export ablation effects",
                                                        str(Path.home() / "ablation-effects.npz"),
                                                        "NumPy arrays (*.npz);;CSV table (*.csv)")
            if not path:
                return None
        return export_data(effects_table(self.effects, self.state.model_name(), self.state.trace_inputs[0]),
                           path)

    def _on_export_clicked(self) -> None:
        try:
            written = self.export()
        except (OSError, ValueError) as error:
            self.outputs.setText(f"Export failed: {error}")
            return
        if written is not None:
            self.outputs.setText(self.outputs.text().split("\n")[0] + f"\nExported {written}")

    def _watch_window(self) -> None:
        if not self._watching_window and self.window() is not self:
            self._watching_window = True
            self.window().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.window() and event.type() == QEvent.Type.Close:
            self.controller.shutdown()  # no thread may outlive the window
        return super().eventFilter(watched, event)
