"""OffThreadMake: a pane's figure or data made on a pool thread, for exports of a lean trace.

Making a lean trace's figure reads its layers, and each first read replays one (seconds on a
large model), which would freeze the window. So the figure is made from a snapshot of the state
at the click (the file is what the screen showed then) on a pool thread, and handed back to the
GUI thread, which asks for a path where it must and writes as for any trace.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject

from ..state.replayed_layers import forget
from ..worker import Task, TaskSignals, make_pool


class OffThreadMake(QObject):
    """``start(make, snapshot, made, failed)``: ``make(snapshot)`` on a pool thread, then
    ``made(result)`` or ``failed(error)`` on the GUI thread. None is dropped.

    ``snapshot`` is a state no one else changes or reads meanwhile (state_snapshot.snapshot_of):
    making a figure fills its caches.
    """

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = make_pool(1, self)  # before the signals: see make_pool
        self._signals = TaskSignals(self)
        self._signals.finished.connect(self._on_made)
        self._signals.failed.connect(self._on_failed)
        self._then: dict[int, tuple[Callable, Callable]] = {}  # request id -> (made, failed)
        self._next_id = 0

    def start(self, make: Callable, snapshot, made: Callable, failed: Callable) -> None:
        self._next_id += 1
        self._then[self._next_id] = (made, failed)
        self._pool.start(Task(self._next_id, lambda: make(snapshot), self._signals, lambda _rid: True))

    @property
    def busy(self) -> bool:
        return bool(self._then)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every figure asked for is made and handed on (the window closing, scripts)."""
        if not self._pool.waitForDone(msecs):
            return False
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)  # the queued hand-overs
        return not self._then

    def _on_made(self, request_id: int, result) -> None:
        forget()  # making it may have replayed any layers, evicting those the views drew
        made, _failed = self._then.pop(request_id)
        made(result)

    def _on_failed(self, request_id: int, error: Exception) -> None:
        forget()
        _made, failed = self._then.pop(request_id)
        failed(error)
