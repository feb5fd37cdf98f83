"""LeanLayerReader: a view's first read of a lean trace's layer, on a pool thread.

Reading a layer of a lean trace replays it (1.5-9 s on a 0.6B model), which must not freeze the
window. ``ready()`` says whether drawing may read a layer's attention at once, and ``values()``
hands out an activation hook's values when they need no replay; otherwise the layer is read off
the GUI thread, ``loaded`` fires, and the view draws again. A plain trace is always ready. The
latest request supersedes a pending one: its result is dropped, and a queued one never runs.
Which layers the engine holds replayed is one guess for every view (state.replayed_layers): a
layer another tab's read evicted is read off-thread again.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.kinds import KINDS

from ..state.activation_hooks import is_heatmap, split_hook
from ..state.lean_traces import is_lean
from ..state.replayed_layers import is_replayed, note_replayed
from .background_result import BackgroundResult

READ_LAYERS = 2  # layers whose hook values a reader holds (a view draws them from here)


def _read_attention(trace, kind: str, layer: int) -> None:
    np.asarray(trace.attention[kind][layer])  # replays the layer: every hook of it is cached


def _read_hooks(trace, stack: str, layer: int, hook: str) -> dict[str, np.ndarray]:
    """Every heatmap of the layer that the run did not keep (one replay reads them all, and a
    switch to another point of the layer is then immediate), and ``hook``."""
    return {name: np.asarray(array) for name, array in trace.activations.items()
            if not isinstance(array, np.ndarray) and split_hook(name)[:2] == (stack, layer)
            and (name == hook or is_heatmap(name, array))}


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
        # (id(trace), stack, layer, "hooks") -> (the trace, weakly; the values read, by hook name)
        self._read: OrderedDict = OrderedDict()

    def ready(self, trace, kind: str, layer: int) -> bool:
        """True when ``trace``'s attention of a layer can be read at once; otherwise its read
        starts off-thread."""
        if not is_lean(trace) or kind not in trace.attention:
            return self._at_once()
        stack = KINDS[kind].hook.split(".")[0]
        if is_replayed(trace, stack, layer):  # the view reads it through the engine's cache
            return self._at_once()
        key = (id(trace), stack, layer, "attention")
        self._background.request(key, lambda: (trace, _read_attention(trace, kind, layer)))
        return False

    def values(self, trace, hook: str, start: bool = True):
        """``trace.activations[hook]`` when it can be read at once (a plain trace's, a value the
        lean run kept, or one of a layer read here); otherwise None, and (with ``start``) the
        hook's layer is read off the GUI thread."""
        array = trace.activations[hook]
        if isinstance(array, np.ndarray) or not is_lean(trace):
            self._at_once()
            return array
        stack, layer, _point = split_hook(hook)
        key = (id(trace), stack, layer, "hooks")
        held = self._held(key, trace)
        if held is not None and hook in held:
            self._at_once()
            return held[hook]
        if start:
            self._background.request(key, lambda: (trace, _read_hooks(trace, stack, layer, hook)))
        return None

    @property
    def pending(self) -> bool:
        """Whether a read is under way whose result will be drawn."""
        return self._background.pending_key is not None

    def wait(self, msecs: int = -1) -> bool:
        return self._background.wait(msecs)

    def _at_once(self) -> bool:
        # What the view shows now needs no read: a pending one for an older selection is stale.
        if self._background.pending_key is not None:
            self._background.cancel()
        return True

    def _held(self, key, trace) -> dict | None:
        entry = self._read.get(key)
        if entry is None or entry[0]() is not trace:  # an id is reused once its trace is gone
            return None
        self._read.move_to_end(key)
        return entry[1]

    def _on_ready(self, key, result) -> None:
        trace, values = result
        note_replayed(trace, key[1], key[2])
        if key[3] == "hooks":
            self._read[key] = (weakref.ref(trace), values)
            while len(self._read) > READ_LAYERS:
                self._read.popitem(last=False)
        self.loaded.emit()
