"""BackgroundResult: compute a view's slow numbers on a pool thread, keeping only the latest."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from ..worker import Task, TaskSignals, make_pool


class BackgroundResult(QObject):
    """One request at a time that matters: ``request(key, function)`` runs ``function()`` off
    the GUI thread unless ``key`` is already being computed; a result whose key is no longer
    the latest request is dropped.

    Signals:
        ready(object, object): the key and the function's result.
        failed(object, str): the key and the error's message.
    """

    ready = Signal(object, object)
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = make_pool(1, self)  # before the signals: see make_pool
        self._signals = TaskSignals(self)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.skipped.connect(lambda rid: self._keys.pop(rid, None))
        self._keys: dict[int, object] = {}  # request id -> key
        self._latest = -1
        self.pending_key: object = None

    def request(self, key, function: Callable[[], object]) -> None:
        if key == self.pending_key:
            return
        self._latest += 1
        self._keys[self._latest] = key
        self.pending_key = key
        self._pool.start(Task(self._latest, function, self._signals, lambda rid: rid == self._latest))

    def cancel(self) -> None:
        """Forget the pending request (its result, when it comes, is dropped)."""
        self._latest += 1
        self.pending_key = None

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def _on_finished(self, rid: int, result) -> None:
        key = self._keys.pop(rid, None)
        if rid == self._latest:
            self.pending_key = None
            self.ready.emit(key, result)

    def _on_failed(self, rid: int, error) -> None:
        key = self._keys.pop(rid, None)
        if rid == self._latest:
            self.pending_key = None
            self.failed.emit(key, str(error))
