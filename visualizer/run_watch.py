"""One run's progress and Cancel: the pool thread reports layers done, the GUI thread asks it to stop.

``model.run(progress=, should_stop=)`` calls both from the pool thread at each layer's end. The
progress goes out through ``RunSignals``, a QObject made on the GUI thread (as worker.py's
``TaskSignals``), so each emission is queued to the GUI; the stop flag is a ``threading.Event``,
which both threads may touch.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


class RunSignals(QObject):
    """Progress of the runs of one controller; lives on the GUI thread.

    Signals:
        progressed(object, int, int): the run's RunWatch, layers done, layers the run takes at most.
    """

    progressed = Signal(object, int, int)


class RunWatch:
    """The callbacks one run is given; ``stop()`` makes it raise ``engine.Cancelled`` at its next
    layer's end."""

    def __init__(self, signals: RunSignals):
        self._signals = signals
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def progress(self, done: int, total: int) -> None:
        if not self._stop.is_set():  # a stopped run's last layers are news to nobody
            self._signals.progressed.emit(self, done, total)
