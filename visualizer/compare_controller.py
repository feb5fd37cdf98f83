"""CompareController: runs the compare pane's run B off the GUI thread, and keeps it current.

Run B follows run A: a new trace, another second input or another second checkpoint asks for a
new run B, made against the trace on screen (its target, its ablated heads). The second
checkpoint is loaded on the pool thread and kept while its path stays the same; the main model
is never touched, so a checkpoint of another architecture only gets a message.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from .run_controller import _describe
from .state.app_state import AppState
from .worker import Task, TaskSignals, make_pool


class CompareController(QObject):
    """Owns one pool thread for run B; only the latest request's result is applied.

    Signals:
        failed(str): run B (or loading its checkpoint) failed; the message says why.
    """

    failed = Signal(str)

    def __init__(self, state: AppState, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self._pool = make_pool(1, self)  # before the signals object: see make_pool
        self._signals = TaskSignals(self)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.skipped.connect(lambda _rid: None)
        self._generation = 0
        self._latest = -1
        self._wanted: tuple | None = None  # (trace A, source B, checkpoint B) of the latest request
        self._second_model: tuple[str, object] | None = None  # (path, model), read on the pool thread
        state.traceChanged.connect(lambda _trace: self.request())
        state.optionsChanged.connect(self.request)
        state.modelChanged.connect(lambda _model: self.request())

    def request(self) -> int:
        """Run B for the state as it is now, unless that is what the last request asked; the id."""
        state = self.state
        source, checkpoint = state.compare_source, state.compare_checkpoint
        wanted = (state.trace, source, checkpoint)
        # The trace by identity: a Trace holds arrays, and == on two of them is no yes-or-no.
        if self._wanted is not None and wanted[0] is self._wanted[0] and wanted[1:] == self._wanted[1:]:
            return self._latest
        self._wanted = wanted
        if state.trace is None or state.model is None or not (source.strip() or checkpoint):
            self._latest = self._next_id()  # any pending result is stale now
            state.set_second_run(None)
            return -1
        model_a, trace_a = state.model, state.trace
        source_a, target = state.trace_inputs

        def work():
            from engine.compare import second_run

            from .state.comparison import SecondRun  # here, not at start-up: ~14 ms before the first paint

            model_b = self._model_at(checkpoint) if checkpoint else model_a
            trace_b = second_run(model_a, trace_a, source_a, source_b=source or None, model_b=model_b,
                                 target=target or None, ablate=trace_a.ablated)
            return SecondRun(trace_b, source if source.strip() else source_a, model_b.name, checkpoint,
                             trace_a=trace_a)

        self._latest = self._next_id()
        self._pool.start(Task(self._latest, work, self._signals, lambda rid: rid == self._latest))
        return self._latest

    def _model_at(self, path: str):
        """The second checkpoint's model, loaded once per path (on the pool thread)."""
        if self._second_model is None or self._second_model[0] != path:
            import engine

            self._second_model = (path, engine.load(path))
        return self._second_model[1]

    def _next_id(self) -> int:
        self._generation += 1
        return self._generation

    def busy(self) -> bool:
        """Whether a run B is queued or running."""
        return self._pool.activeThreadCount() > 0

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Drop queued work and wait for the running task, so no thread outlives the window."""
        self._latest = -2
        self._pool.clear()
        self._pool.waitForDone()

    def _on_finished(self, rid: int, run) -> None:
        if rid == self._latest:
            self.state.set_second_run(run)

    def _on_failed(self, rid: int, error) -> None:
        if rid != self._latest:
            return
        from .state.comparison import SecondRun

        message = f"Run B failed: {_describe(error)}"
        self.state.set_second_run(SecondRun(None, self.state.compare_source,
                                            checkpoint=self.state.compare_checkpoint, message=message))
        self.failed.emit(message)
