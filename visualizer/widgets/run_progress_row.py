"""RunProgressRow: the layers a run has done and a Cancel button, beside the Run button."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

CANCELLED_TEXT = "Run cancelled: the views still show the previous run."
# A run that has reported no layer by then says "starting…" with a moving bar. Not at once: a
# moving bar repaints the window some 60 times a second, work the GUI thread takes from the run
# (with the status bar's, 25-39 ms of CPU through a 250 ms run on two cores, measured), and most
# runs end before anyone could read it.
STARTING_AFTER_MS = 400


def progress_text(done: int, total: int, pass_layers: int) -> str:
    """"layer 12 of 28"; a run that decodes first counts its steps' layers too."""
    if total <= pass_layers:
        return f"layer {done} of {total}"
    return f"{done} of {total} layers (decoding, then the recorded pass)"


class RunProgressRow(QWidget):
    """Shown while a run is in flight, from its first layer's end (or "starting…" after
    ``STARTING_AFTER_MS``): a progress bar (``runProgress``) and Cancel (``cancelRunButton``);
    after a cancel, ``runCancelledLabel`` says so until the next run."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.bar = QProgressBar(objectName="runProgress", textVisible=True)
        self.cancel_button = QPushButton("Cancel", objectName="cancelRunButton")
        self.cancel_button.setToolTip("Stop the run at its next layer; the views keep the previous run")
        self.cancelled_label = QLabel(CANCELLED_TEXT, objectName="runCancelledLabel", wordWrap=True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.cancelled_label, 1)
        self._starting = QTimer(self, singleShot=True, interval=STARTING_AFTER_MS)
        self._starting.timeout.connect(self._on_still_starting)
        self._show(running=False, cancelled=False)
        self.hide()
        controller.busyChanged.connect(self._on_busy_changed)
        controller.runProgress.connect(self._on_run_progress)
        controller.runCancelled.connect(self._on_run_cancelled)
        self.cancel_button.clicked.connect(controller.cancel)

    def _show(self, running: bool, cancelled: bool) -> None:
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancelled_label.setVisible(cancelled)
        self.setVisible(running or cancelled)

    def _on_busy_changed(self, _busy: bool, _description: str) -> None:
        # isHidden, not isVisible: what the row shows, whether or not its window is on screen.
        running = self.controller.running
        if running and self.bar.isHidden():  # a new run: shown at its first layer, or soon
            self._starting.start()
            if not self.cancelled_label.isHidden():
                self._show(running=False, cancelled=False)  # the cancel was of an earlier run
        elif not running:
            self._starting.stop()
            if self.cancelled_label.isHidden():
                self._show(running=False, cancelled=False)

    def _on_still_starting(self) -> None:
        if self.controller.running and self.bar.isHidden():
            self.bar.setRange(0, 0)  # no layer done yet: a moving bar
            self.bar.setFormat("starting…")
            self._show(running=True, cancelled=False)

    def _on_run_progress(self, done: int, total: int) -> None:
        model = self.controller.state.model
        config = model.config if model is not None else None
        pass_layers = (config.n_encoder_layers if config.has_encoder else 0) + \
            (config.n_decoder_layers if config.has_decoder else 0) if config is not None else total
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.bar.setFormat(progress_text(done, total, pass_layers))
        if self.bar.isHidden():
            self._starting.stop()
            self._show(running=True, cancelled=False)

    def _on_run_cancelled(self) -> None:
        self._show(running=self.controller.running, cancelled=True)
