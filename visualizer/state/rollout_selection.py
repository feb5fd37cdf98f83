"""What the rollout pane, its figure and its data show, from a ViewState (no Qt).

The numbers are ``engine.rollout``'s for the selected kind and layer, with heads fused by
``state.rollout_head`` ("mean" or "max"). Cells no attention path reaches (a decoder's future,
a padded key) are exactly 0 by construction and are greyed as masked, like a head's.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from engine.kinds import kind_title
from engine.rollout import rollout

from ..export.data_files import DataTable, selection_table
from .selection import AttentionSelection, attention_selection, levels_for

_cache: list = []  # [(trace, kind, layer, head, matrix)] of the last rollout, the trace held weakly
_unreachable: list = []  # [(trace, (kind, layer), cells)] of the last unreachable_cells, likewise


def rollout_matrix(state, kind: str | None = None, layer: int | None = None) -> np.ndarray:
    """``[queries, keys]`` rollout of the selection; ValueError without a trace."""
    trace = state.trace
    if trace is None:
        raise ValueError("nothing to export yet: run a sentence first")
    kind = kind or state.kind
    layer = state.layer if layer is None else layer
    matrix = cached_rollout(state, kind, layer)
    if matrix is None:
        matrix = rollout(trace.attention, kind, layer, state.rollout_head)
        remember_rollout(trace, (kind, layer, state.rollout_head), matrix)
    return matrix


def rollout_key(state, kind: str | None = None, layer: int | None = None) -> tuple:
    return (kind or state.kind, state.layer if layer is None else layer, state.rollout_head)


def cached_rollout(state, kind: str | None = None, layer: int | None = None) -> np.ndarray | None:
    """The selection's rollout if it was computed for this trace already, else None."""
    if _cache and _cache[0][0]() is state.trace and _cache[0][1:4] == rollout_key(state, kind, layer):
        return _cache[0][4]
    return None


def remember_rollout(trace, key: tuple, matrix: np.ndarray) -> None:
    """Keep ``matrix`` as ``trace``'s rollout for ``key`` (kind, layer, head fusion)."""
    matrix.flags.writeable = False
    _cache[:] = [(weakref.ref(trace), *key, matrix)]


def rollout_cost(state) -> int:
    """Multiply-adds of the selection's rollout: a product of square matrices per layer rolled."""
    trace = state.trace
    if trace is None or state.kind not in trace.attention:
        return 0
    sides = {kind: trace.attention[kind].shape[-1] for kind in trace.attention}
    if state.kind != "cross":
        return (state.layer + 1) * sides[state.kind] ** 3
    return (state.layer + 1) * sides["decoder"] ** 3 + state.n_layers("encoder") * sides["encoder"] ** 3


def _reach(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Path counts of two boolean reachability matrices. In float32, which BLAS multiplies (an
    int64 product of 2,048-square matrices took 44 s here, 0.2 s so): counts of 0/1 entries stay
    below 2**24, so they are exact, and only whether they are positive is used."""
    return first.astype(np.float32) @ second.astype(np.float32)


def unreachable_cells(state, kind: str, layer: int) -> np.ndarray | None:
    """True where no path of visible (unmasked) cells joins the query to the key.

    Kept for the last trace, kind and layer: the pane's mask, title and levels all ask (a pool
    thread may ask first, for a lean trace, with ``state`` a TraceMasks of that trace).
    """
    trace = state.trace
    if _unreachable and _unreachable[0][0]() is trace and _unreachable[0][1] == (kind, layer):
        return _unreachable[0][2]
    cells = _unreachable_cells(state, kind, layer)
    if trace is not None:
        _unreachable[:] = [(weakref.ref(trace), (kind, layer), cells)]
    return cells


def _unreachable_cells(state, kind: str, layer: int) -> np.ndarray | None:
    def reach(self_kind: str, last: int) -> np.ndarray | None:
        masks = [state.masked_cells(self_kind, i) for i in range(last + 1)]
        if all(m is None for m in masks):
            return None
        n = next(m for m in masks if m is not None).shape[0]
        paths = np.eye(n, dtype=bool)
        for mask in masks:
            step = np.eye(n, dtype=bool) | (True if mask is None else ~mask)
            paths = _reach(step, paths) > 0
        return paths

    if kind != "cross":
        paths = reach(kind, layer)
    else:
        decoder, encoder = reach("decoder", layer), reach("encoder", state.n_layers("encoder") - 1)
        cross = state.masked_cells("cross", layer)
        if cross is None and encoder is None:
            return None  # a decoder's causal paths still reach every source token
        paths = ~cross if cross is not None else np.ones(state.trace.attention["cross"].shape[2:], bool)
        if decoder is not None:
            paths = _reach(decoder, paths) > 0
        if encoder is not None:
            paths = _reach(paths, encoder) > 0
    if paths is None or paths.all():
        return None
    return ~paths


def rollout_selection(state) -> AttentionSelection:
    """The rollout as an AttentionSelection: the same heatmap, labels and files as a head's."""
    selection = attention_selection(state, head=state.rollout_head)
    matrix = rollout_matrix(state)
    masked = unreachable_cells(state, selection.kind, selection.layer)
    fusion = "mean" if state.rollout_head == "mean" else "max"
    what = (f"attention rollout, {kind_title(selection.kind)}, layers 0–{selection.layer}, "
            f"{fusion} of heads")
    if selection.kind == "cross":
        what = (f"attention rollout to source tokens through cross-attention layer {selection.layer}, "
                f"{fusion} of heads")
    return dataclasses.replace(
        selection, matrix=matrix, masked=masked, heads=None,
        levels=levels_for(matrix, state.auto_levels, masked),
        title_text=f"{selection.model} — {what}" if selection.model else what)


def rollout_table(state) -> DataTable:
    """NPZ ``matrix [Q, K]`` (the rollout) with the token pieces; CSV the same matrix."""
    table = selection_table(rollout_selection(state))
    return dataclasses.replace(table, metadata={**table.metadata, "head": state.rollout_head,
                                                "analysis": "attention rollout (Abnar & Zuidema 2020)"})
