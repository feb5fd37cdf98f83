"""Which layers of a lean trace the engine holds replayed: the GUI's guess, shared by every view.

The engine keeps the values of the last two layers replayed, whoever read them. A view
that drew layer 3 and then finds it evicted by another tab's read would replay it on the GUI
thread, so every view's reads are counted here, in one order, as the engine counts them. A read
done elsewhere may evict any layer: after one, ``forget`` clears the guess (an export calls it),
and the views read again off-thread (a layer still cached comes back at once).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

# engine.lean_recording.LAYER_CACHE, not imported: that module imports torch, which the window
# loads off the GUI thread (a test checks that the two agree).
REPLAYED_LAYERS = 2
_replayed: OrderedDict = OrderedDict()  # (id(trace), stack, layer) -> the trace, weakly


def is_replayed(trace, stack: str, layer: int) -> bool:
    """Whether the layer was among the last read (that read counts as a read again, as in the engine).

    The engine's own answer (``LayerStack.is_loaded``) where it gives one: then no read elsewhere
    (the rollout, an export) can leave the guess stale."""
    from engine.kinds import KINDS  # no torch

    for kind, stack_array in getattr(trace, "attention", {}).items():
        loaded = getattr(stack_array, "is_loaded", None)
        if loaded is not None and KINDS[kind].hook.startswith(stack + "."):
            return bool(loaded(layer))
    key = (id(trace), stack, layer)
    known = _replayed.get(key)
    if known is None or known() is not trace:  # an id is reused once its trace is gone
        return False
    _replayed.move_to_end(key)
    return True


def note_replayed(trace, stack: str, layer: int) -> None:
    _replayed[(id(trace), stack, layer)] = weakref.ref(trace)
    _replayed.move_to_end((id(trace), stack, layer))
    while len(_replayed) > REPLAYED_LAYERS:
        _replayed.popitem(last=False)


def forget() -> None:
    _replayed.clear()
