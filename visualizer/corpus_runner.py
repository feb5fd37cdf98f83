"""CorpusRunner: head statistics over a corpus (or generated sentences) on a pool thread.

One job at a time, with progress and cancel. Each job has a request id; a result, error or
progress report of any other id (a cancelled or replaced job) is dropped. Cancelling asks the
engine to stop before its next batch, so the thread ends within one batch.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from .worker import Task, TaskSignals, make_pool


class ProgressSignals(QObject):
    """Signals:
        progressed(int, int, int): request id, inputs done, inputs in all.
    """

    progressed = Signal(int, int, int)


class CorpusRunner(QObject):
    """Runs ``job(progress, cancelled)`` functions off the GUI thread, the latest one counting.

    Signals:
        progressed(int, int): done and total of the running job.
        finished(object): the latest job's result.
        failed(str): the latest job's error, as a message.
        cancelled(): the latest job stopped because ``cancel`` was called.
        busyChanged(bool): a job started (True) or ended.
    """

    progressed = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = make_pool(1, self)  # before the signals: see make_pool
        self._latest = -1
        self._next = 0
        self._cancelled: set[int] = set()
        self._running: set[int] = set()
        self._signals = TaskSignals(self)  # created on the GUI thread: emissions queue back here
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.skipped.connect(self._on_done)
        self._progress = ProgressSignals(self)
        self._progress.progressed.connect(self._on_progressed)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def start(self, job) -> int:
        """Run ``job(progress, cancelled)``; any job still running is cancelled. Returns its id."""
        self.cancel()
        rid = self._latest = self._next
        self._next += 1
        self._running.add(rid)
        emit = self._progress.progressed.emit
        stop = self._cancelled

        def run():
            return job(lambda done, total: emit(rid, done, total), lambda: rid in stop)

        self.busyChanged.emit(True)
        self._pool.start(Task(rid, run, self._signals, lambda r: r not in stop))
        return rid

    def cancel(self) -> None:
        """Stop the running job before its next batch (its result is never applied)."""
        if self._latest in self._running:
            self._cancelled.add(self._latest)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool is idle (closing the window, tests)."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        self.cancel()
        self._pool.clear()
        self._pool.waitForDone()

    # ---- results (GUI thread) -------------------------------------------------------------
    def _on_progressed(self, rid: int, done: int, total: int) -> None:
        if rid == self._latest and rid not in self._cancelled:
            self.progressed.emit(done, total)

    def _on_finished(self, rid: int, result) -> None:
        if self._on_done(rid):
            self.finished.emit(result)

    def _on_failed(self, rid: int, error) -> None:
        if not self._on_done(rid):
            return
        from engine.corpus_stats import CorpusCancelled

        if isinstance(error, CorpusCancelled):
            self.cancelled.emit()
            return
        known = type(error).__name__ in ("InputError", "CheckpointError")
        self.failed.emit(str(error) if known else f"{type(error).__name__}: {error}")

    def _on_done(self, rid: int) -> bool:
        """Mark ``rid`` ended; True when it is the latest job and it was not cancelled."""
        self._running.discard(rid)
        was_cancelled = rid in self._cancelled
        self._cancelled.discard(rid)
        if not self._running:
            self.busyChanged.emit(False)
        if rid != self._latest:
            return False
        if was_cancelled:
            self.cancelled.emit()
            return False
        return True
