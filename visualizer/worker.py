"""Background work for the GUI: a QRunnable per request, reporting through a GUI-side QObject.

The runnable never owns a QObject: its signals live in ``TaskSignals``, created on the GUI
thread, so Qt queues every emission back to the GUI thread and a finished runnable can be
deleted by the pool at any time.
"""

from __future__ import annotations

import traceback
import weakref
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_pools: weakref.WeakSet = weakref.WeakSet()  # every pool made here, so tests can check they are idle


class TaskSignals(QObject):
    """Signals of every task of one controller; lives on the GUI thread.

    Signals:
        finished(int, object): request id and the function's result.
        failed(int, object): request id and the exception it raised.
        skipped(int): request id of a task that was stale before it started.
    """

    finished = Signal(int, object)
    failed = Signal(int, object)
    skipped = Signal(int)


class Task(QRunnable):
    """Calls ``function()`` on a pool thread unless ``is_current(request_id)`` is already False."""

    def __init__(self, request_id: int, function: Callable[[], object], signals: TaskSignals,
                 is_current: Callable[[int], bool]):
        super().__init__()
        self.request_id = request_id
        self._function = function
        self._signals = signals
        self._is_current = is_current

    def run(self) -> None:
        if not self._is_current(self.request_id):
            # A newer request superseded this one while it waited: skip the work entirely.
            self._signals.skipped.emit(self.request_id)
            return
        try:
            result = self._function()
        except Exception as error:  # every failure must reach the GUI as a message, never kill it
            error.formatted_traceback = traceback.format_exc()
            self._signals.failed.emit(self.request_id, error)
        else:
            self._signals.finished.emit(self.request_id, result)


def make_pool(max_threads: int = 1, parent: QObject | None = None) -> QThreadPool:
    """A private pool. One thread: runs queue behind loads, and torch keeps the cores to itself.

    Give it the same parent as the tasks' ``TaskSignals``, created *before* them: Qt deletes
    children in creation order, so the pool waits for a running task before the object that
    task emits on is deleted (a window garbage-collected mid-load must not crash).
    """
    pool = QThreadPool(parent)
    pool.setMaxThreadCount(max_threads)
    _pools.add(pool)
    return pool


def busy_pools() -> list[QThreadPool]:
    """Pools made by ``make_pool`` (and the global one) that still have running tasks."""
    pools = [pool for pool in list(_pools) if shiboken6.isValid(pool)]  # skip pools Qt deleted
    return [pool for pool in [*pools, QThreadPool.globalInstance()] if pool.activeThreadCount() > 0]
