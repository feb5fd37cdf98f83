"""SweepController: one slow analysis at a time on a worker thread, with progress and cancel.

A sweep (head importance, patching) is many edited runs of the model; the engine calls
``progress(done, total)`` after each batch and stops at the next one once ``should_stop()`` is
True. Each start carries a request id: a cancelled or superseded sweep stops early, and its
result, if it still arrives, is dropped.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from .worker import Task, TaskSignals, make_pool


class SweepSignals(TaskSignals):
    """TaskSignals plus ``progressed(int, int, int)``: request id, done, total."""

    progressed = Signal(int, int, int)


class SweepController(QObject):
    """Runs ``request.run(progress, should_stop)`` for one ``SweepRequest`` at a time.

    Signals:
        started(str): a sweep began; what it does, for people.
        progressed(int, int): done and total runs of the latest sweep.
        finished(object, object): the request and its result.
        failed(str): the latest sweep's problem, as a message.
        cancelled(): the latest sweep was cancelled.
    """

    started = Signal(str)
    progressed = Signal(int, int)
    finished = Signal(object, object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = make_pool(1, self)  # before the signals object: see make_pool
        self._signals = SweepSignals(self)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.skipped.connect(self._on_skipped)
        self._signals.progressed.connect(self._on_progressed)
        self._latest = -1
        self._next = 0
        self._requests: dict[int, object] = {}
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._latest in self._requests

    @property
    def running_key(self) -> tuple | None:
        """The key of the sweep running now (its inputs), or None."""
        request = self._requests.get(self._latest)
        return None if request is None else request.key

    def start(self, request) -> int:
        """Start ``request`` (a ``state.sweeps.SweepRequest``), stopping any sweep before it."""
        self.cancel(quiet=True)
        rid = self._next
        self._next += 1
        self._latest = rid
        self._requests[rid] = request
        stop = self._stop = threading.Event()
        signals = self._signals

        def work():
            return request.run(lambda done, total: signals.progressed.emit(rid, done, total),
                               lambda: stop.is_set())

        self.started.emit(request.what)
        self._pool.start(Task(rid, work, signals, lambda r: r == self._latest and not stop.is_set()))
        return rid

    def cancel(self, quiet: bool = False) -> None:
        """Stop the running sweep at its next batch; ``cancelled`` follows unless ``quiet``."""
        if not self.running:
            return
        self._stop.set()
        self._requests.pop(self._latest, None)
        self._latest = -1
        if not quiet:
            self.cancelled.emit()

    def shutdown(self) -> None:
        """Cancel and wait, so no thread outlives the window."""
        self.cancel(quiet=True)
        self._pool.clear()
        self._pool.waitForDone()

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    # ---- results, on the GUI thread ----------------------------------------------------------
    def _on_progressed(self, rid: int, done: int, total: int) -> None:
        if rid == self._latest:
            self.progressed.emit(done, total)

    def _on_finished(self, rid: int, result) -> None:
        request = self._requests.pop(rid, None)
        if rid == self._latest and request is not None:
            self._latest = -1
            self.finished.emit(request, result)

    def _on_failed(self, rid: int, error) -> None:
        request = self._requests.pop(rid, None)
        if rid != self._latest or request is None:
            return  # a cancelled sweep ends in Cancelled: nothing to say
        self._latest = -1
        known = type(error).__name__ in ("InputError", "CheckpointError", "ValueError")
        self.failed.emit(str(error) if known else f"{type(error).__name__}: {error}")

    def _on_skipped(self, rid: int) -> None:
        self._requests.pop(rid, None)
