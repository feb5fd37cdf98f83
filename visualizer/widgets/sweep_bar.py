"""SweepBar: Run, a progress bar and Cancel for one slow analysis, with a line saying how it went."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..sweep_controller import SweepController


class SweepBar(QWidget):
    """Follows a ``SweepController``: the progress bar and Cancel show while a sweep runs.

    Object names start with ``prefix``: ``{prefix}RunButton``, ``{prefix}CancelButton``,
    ``{prefix}Progress`` and ``{prefix}Status``.
    """

    def __init__(self, controller: SweepController, prefix: str, run_text: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.run_button = QPushButton(run_text, objectName=f"{prefix}RunButton")
        self.cancel_button = QPushButton("Cancel", objectName=f"{prefix}CancelButton")
        self.cancel_button.setToolTip("Stop the sweep after the runs in progress")
        self.progress = QProgressBar(objectName=f"{prefix}Progress", maximumWidth=220)
        self.progress.setFormat("%v / %m runs")
        self.status = QLabel(objectName=f"{prefix}Status", wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.run_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.status, 1)
        self.cancel_button.clicked.connect(controller.cancel)
        controller.started.connect(self._on_started)
        controller.progressed.connect(self._on_progressed)
        controller.finished.connect(lambda *_: self._set_running(False))
        controller.failed.connect(self._on_failed)
        controller.cancelled.connect(self._on_cancelled)
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.run_button.setEnabled(not running)

    def _on_started(self, what: str) -> None:
        self.progress.reset()
        self.progress.setRange(0, 0)  # busy until the first batch reports its total
        self.status.setText(what[:1].upper() + what[1:] + "…")
        self._set_running(True)

    def _on_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.status.setText(message)

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.status.setText("Cancelled: the map shows nothing for this input. Run it again when ready.")
