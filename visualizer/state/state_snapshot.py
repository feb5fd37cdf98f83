"""A copy of a ViewState for a pool thread: what the state shows now, with caches of its own."""

from __future__ import annotations

from .view_state import ViewState


def snapshot_of(state) -> ViewState:
    """A ViewState showing what ``state`` (a ViewState or an AppState) shows now.

    Later changes to either leave the other as it was, and its caches (means of heads, labels)
    are its own, so a pool thread making a figure from it never races the GUI's reads. The masks
    read so far are handed on: they are read-only arrays.
    """
    core = getattr(state, "core", state)
    copy = ViewState()
    for name, value in vars(core).items():
        if not name.startswith("_"):  # the selection, the options, the trace: plain values
            setattr(copy, name, value)
    copy._masks = dict(core._masks)
    copy._recent_masks = list(core._recent_masks)
    return copy
