"""ModelController: loads checkpoints and runs the model off the GUI thread, into AppState."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from .app_state import AppState
from .worker import Task, TaskSignals, make_pool


def _load(path: str):
    import engine  # first use imports torch (~2 s): always on a pool thread, never the GUI's

    model = engine.load(path)
    engine.fit_threads(model)
    return model


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    known = type(error).__name__ in ("CheckpointError", "InputError")
    return text if known and text else f"{type(error).__name__}: {text or 'no details'}"


class ModelController(QObject):
    """Owns the worker pool. Each request gets an id; only the latest load and run are applied.

    Signals:
        busyChanged(bool, str): work is pending (True) with a description, or everything is done.
        modelLoaded(object, str): a model became current in the state; its path.
        loadFailed(str, str): the path and the problem; the previous model stays current.
        traceReady(object): a new trace became current in the state.
        runFailed(str): the problem of the latest run.
    """

    busyChanged = Signal(bool, str)
    modelLoaded = Signal(object, str)
    loadFailed = Signal(str, str)
    traceReady = Signal(object)
    runFailed = Signal(str)

    def __init__(self, state: AppState, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self._pool = make_pool(1, self)  # before self._signals: see make_pool
        self._next_id = 0
        self._latest = {"load": -1, "run": -1}  # the only request ids whose results count
        self._pending: dict[int, tuple[str, str]] = {}  # id -> (what, path for loads)
        self._deferred_run: tuple[str, str | None] | None = None
        # Created here, on the GUI thread: queued emissions land back on this thread.
        self._signals = TaskSignals(self)
        self._signals.finished.connect(self._on_task_finished)
        self._signals.failed.connect(self._on_task_failed)
        self._signals.skipped.connect(self._on_task_skipped)

    # ---- requests ------------------------------------------------------------------------
    def load(self, path) -> int:
        """Load ``path`` in the background; returns the request id."""
        path = str(path)
        rid = self._submit("load", lambda: _load(path), path, f"Loading {Path(path).name}…")
        self._latest["run"] = rid  # a run of the old model must not land on the new one
        return rid

    def run(self, source: str, target: str | None = None) -> int:
        """Run the current model on ``source`` (and ``target``, None to decode); returns the id."""
        self.state.source_text, self.state.target_text = source, target or ""
        if self._latest["load"] in self._pending:
            # The model is about to change: run once the load has finished, on whichever model is
            # then current (a run submitted now would show the old model's trace as the new one's).
            self._deferred_run = (source, target)
            return -1
        model = self.state.model
        if model is None:
            self.runFailed.emit("no model is loaded: open a checkpoint first")
            return -1
        ablate = tuple(sorted(self.state.ablated))
        return self._submit("run", lambda: model.run(source, target or None, ablate=ablate), "",
                            "Running the model…")

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool is idle (on close and in tests); queued signals still need events."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Drop queued work and wait for the running task, so no thread outlives the window."""
        self._latest = {"load": -2, "run": -2}
        self._pool.clear()
        self._pool.waitForDone()

    # ---- plumbing ------------------------------------------------------------------------
    def _submit(self, what: str, function, path: str, description: str) -> int:
        rid = self._next_id
        self._next_id += 1
        self._latest[what] = rid
        self._pending[rid] = (what, path)
        self.busyChanged.emit(True, description)
        self._pool.start(Task(rid, function, self._signals, self._is_current))
        return rid

    def _is_current(self, rid: int) -> bool:
        return rid in self._latest.values()  # read from pool threads: a dict lookup is atomic enough

    def _finish(self, rid: int) -> tuple[str, str] | None:
        entry = self._pending.pop(rid, None)
        if not self._pending:
            self.busyChanged.emit(False, "")
        return entry if entry is not None and self._is_current(rid) else None

    def _on_task_finished(self, rid: int, result) -> None:
        entry = self._finish(rid)
        if entry is None:
            return  # stale: a newer request of the same kind was made meanwhile
        what, path = entry
        if what == "load":
            self.state.set_model(result)
            self.modelLoaded.emit(result, path)
            deferred, self._deferred_run = self._deferred_run, None
            if deferred is not None and self._latest["run"] <= rid:  # no listener has run it yet
                self.run(*deferred)
        else:
            self.state.set_trace(result)
            self.traceReady.emit(result)

    def _on_task_failed(self, rid: int, error) -> None:
        entry = self._finish(rid)
        if entry is None:
            return
        what, path = entry
        if what == "load":
            self.loadFailed.emit(path, _describe(error))
            deferred, self._deferred_run = self._deferred_run, None
            if deferred is not None and self.state.model is not None:
                self.run(*deferred)
        else:
            self.runFailed.emit(_describe(error))

    def _on_task_skipped(self, rid: int) -> None:
        self._finish(rid)
