"""CorpusControls: "Statistics over a corpus…", "Evaluate heads on N generated sentences", and a
progress bar with Cancel while either runs. The result goes into the state for the head-stats pane."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ..corpus_runner import CorpusRunner
from ..state.app_state import AppState

CORPUS_FILTER = "Text files, one input a line (*.txt *.tsv);;All files (*)"
DEFAULT_SENTENCES = 500  # the training summary scored the heads on this many
MAX_SENTENCES = 10_000


class CorpusControls(QWidget):
    """Starts corpus jobs on a ``CorpusRunner`` and shows their progress.

    Signals:
        errorOccurred(str): a corpus could not be read or run (the message names the problem).
    """

    errorOccurred = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.runner = CorpusRunner(self)
        self._watched_window = None
        self._started = 0.0
        self.corpus_button = QPushButton("Statistics over a corpus…", objectName="corpusButton")
        self.corpus_button.setToolTip("Open a text file of inputs (one a line; source TAB target) and "
                                      "show each statistic as a mean over all of them")
        self.this_input_button = QPushButton("This input", objectName="thisInputButton")
        self.this_input_button.setToolTip("Show the statistics of the input on screen again")
        self.evaluate_label = QLabel("Evaluate heads on")
        self.evaluate_spin = QSpinBox(objectName="evaluateSpin", minimum=1, maximum=MAX_SENTENCES)
        self.evaluate_spin.setValue(DEFAULT_SENTENCES)
        self.evaluate_spin.setSuffix(" generated sentences")
        self.evaluate_button = QPushButton("Evaluate", objectName="evaluateButton")
        self.evaluate_button.setToolTip("Score every cross-attention head against the task generator's "
                                        "gold word alignment on held-out sentences it generates")
        self.progress = QProgressBar(objectName="corpusProgress", maximumWidth=220)
        self.cancel_button = QPushButton("Cancel", objectName="corpusCancelButton")
        self.status = QLabel(objectName="corpusStatus", wordWrap=True)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.corpus_button, self.this_input_button, self.evaluate_label, self.evaluate_spin,
                       self.evaluate_button, self.progress, self.cancel_button):
            layout.addWidget(widget)
        layout.addWidget(self.status, 1)

        self.corpus_button.clicked.connect(self.choose_corpus)
        self.this_input_button.clicked.connect(lambda: state.set_head_stats_corpus(None))
        self.evaluate_button.clicked.connect(lambda: self.start_evaluation())
        self.cancel_button.clicked.connect(self.cancel)
        self.runner.progressed.connect(self._on_progressed)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(lambda: self._end("Cancelled: nothing was changed."))
        state.subscribe(self)
        self._set_running(False)
        self._on_model_changed(state.model)

    # ---- requests -----------------------------------------------------------------------------
    def choose_corpus(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Statistics over a corpus", str(Path.home()),
                                              CORPUS_FILTER)
        if path:
            self.start_corpus(path)

    def start_corpus(self, path) -> int:
        """Every statistic over the inputs of a text file, in the background; -1 without a model."""
        model, ablate, path = self.state.model, tuple(sorted(self.state.ablated)), Path(path)
        if model is None:
            return -1

        def job(progress, cancelled):
            from engine.corpus_file import read_corpus
            from engine.corpus_stats import corpus_head_stats

            return corpus_head_stats(model, read_corpus(path), None, progress=progress, cancelled=cancelled,
                                     ablate=ablate, name=path.name)

        return self._start(job, f"Reading {path.name}…")

    def start_evaluation(self, n: int | None = None) -> int:
        """Alignment accuracy of every cross-attention head on ``n`` generated sentences."""
        model = self.state.model
        if model is None:
            return -1
        n = self.evaluate_spin.value() if n is None else n

        def job(progress, cancelled):
            from engine.head_alignment import evaluate_heads

            return evaluate_heads(model, n, progress=progress, cancelled=cancelled)

        return self._start(job, f"Generating {n} sentences…")

    def cancel(self) -> None:
        self.runner.cancel()

    def _start(self, job, message: str) -> int:
        window = self.window()
        if window is not self and window is not self._watched_window:
            window.installEventFilter(self)  # closing the window stops the job and waits for it
            self._watched_window = window
        self.progress.setRange(0, 0)
        self._set_running(True)
        self.status.setText(message)
        self._started = time.perf_counter()
        return self.runner.start(job)

    # ---- results ------------------------------------------------------------------------------
    def _on_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.status.setText(f"{done} of {total}")

    def _on_finished(self, result) -> None:
        skipped = len(result.problems)
        note = f" · {skipped} line{'s' * (skipped != 1)} skipped ({result.problems[0]}" \
               f"{', …' if skipped > 1 else ''})" if skipped else ""
        seconds = time.perf_counter() - self._started
        self._end(f"{result.n_inputs} input{'s' * (result.n_inputs != 1)} in {seconds:.1f} s{note}")
        self.state.set_head_stats_corpus(result)

    def _on_failed(self, message: str) -> None:
        self._end(f"Not computed: {message}")
        self.errorOccurred.emit(message)

    def _end(self, message: str) -> None:
        self._set_running(False)
        self.status.setText(message)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        for button in (self.corpus_button, self.evaluate_button):
            button.setEnabled(not running and self.state.model is not None)

    # ---- state --------------------------------------------------------------------------------
    def _on_model_changed(self, model) -> None:
        self.runner.cancel()  # another model's statistics would mean nothing
        aligned = False
        if model is not None:
            from engine.head_alignment import alignment_task

            aligned = alignment_task(model) is not None
        for widget in (self.evaluate_label, self.evaluate_spin, self.evaluate_button):
            widget.setVisible(aligned)
        self._set_running(self.runner.busy)
        self._on_options_changed()

    def _on_options_changed(self) -> None:
        self.this_input_button.setEnabled(self.state.head_stats_corpus is not None)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self._watched_window and event.type() == QEvent.Type.Close:
            self.runner.shutdown()  # a pool thread still running at exit would abort the process
        return False
