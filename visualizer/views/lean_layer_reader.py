"""LeanLayerReader: a view's first read of a lean trace's layer, on a pool thread.

Reading a layer of a lean trace replays it (1.5-9 s on a 0.6B model), which must not freeze the
window. ``ready()`` says whether drawing may read a layer at once; if not, the layer is read
off the GUI thread and ``loaded`` fires, and the view draws again. A plain trace is always ready.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..state.lean_traces import is_lean
from .background_result import BackgroundResult

READ_LAYERS = 2  # the layers the engine keeps replayed (engine.lean_recording.LAYER_CACHE)


def _read_layer(trace, kind: str, layer: int) -> None:
    np.asarray(trace.attention[kind][layer])  # replays the layer: every hook of it is cached


class LeanLayerReader(QObject):
    """Signals:
        loaded(): a layer asked for is read; the view may draw it.
        failed(str): the problem reading it.
    """

    loaded = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._background = BackgroundResult(self)
        self._background.ready.connect(self._on_ready)
        self._background.failed.connect(lambda _key, message: self.failed.emit(message))
        self._read: OrderedDict = OrderedDict()  # (id(trace), kind, layer) -> the trace, weakly

    def ready(self, trace, kind: str, layer: int) -> bool:
        """True when ``trace``'s layer can be read at once; otherwise its read starts off-thread."""
        if not is_lean(trace) or kind not in trace.attention:
            return True
        key = (id(trace), kind, layer)
        if key in self._read and self._read[key]() is trace:
            self._read.move_to_end(key)
            return True
        self._background.request(key, lambda: (_read_layer(trace, kind, layer), trace)[1])
        return False

    def wait(self, msecs: int = -1) -> bool:
        return self._background.wait(msecs)

    def _on_ready(self, key, trace) -> None:
        self._read[key] = weakref.ref(trace)  # an id is reused once its trace is gone
        while len(self._read) > READ_LAYERS:
            self._read.popitem(last=False)
        self.loaded.emit()
