"""The attention pane's value-weighted matrix (Kobayashi et al. 2020), made from a ViewState.

With ``state.attention_weighting == "value-norm"`` the pane shows ``a_ij · ‖v_j W_O^h‖`` with each
row renormalised to sum to 1 (``engine.value_weighted``): the share of what the head moves into
query i that comes from key j, on the same 0..1 scale as the weights. Mean and max over heads are
taken of the per-head shares. No Qt here: the CLI uses it too.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from engine.kinds import head_title, kind_title
from engine.value_weighted import value_norms, value_weighted

from ..export.data_files import DataTable, selection_table
from .selection import AttentionSelection, attention_selection, levels_for

WEIGHTINGS = ("weight", "value-norm")
WHAT = "value-weighted: a·‖v W_O‖, rows renormalised"

_cache: list = []  # [(trace, model, kind, layer, norms)]: the last layer's norms, trace held weakly


def is_value_weighted(state) -> bool:
    return state.attention_weighting == "value-norm"


def layer_value_norms(state, kind: str | None = None, layer: int | None = None) -> np.ndarray:
    """``[heads, keys]`` ‖v_j W_O^h‖ of the selected (or given) kind and layer, kept per trace."""
    trace, model = state.trace, state.model
    if trace is None:
        raise ValueError("nothing to export yet: run a sentence first")
    kind = kind or state.kind
    layer = state.layer if layer is None else layer
    if _cache and _cache[0][0]() is trace and _cache[0][1]() is model and _cache[0][2:4] == (kind, layer):
        return _cache[0][4]
    norms = value_norms(model, trace, kind, layer)
    _cache[:] = [(weakref.ref(trace), weakref.ref(model), kind, layer, norms)]
    return norms


def weighted_heads(state, kind: str | None = None, layer: int | None = None) -> np.ndarray:
    """``[heads, q, k]`` value-weighted shares of every head of one layer."""
    kind = kind or state.kind
    layer = state.layer if layer is None else layer
    return value_weighted(state.trace.attention[kind][layer], layer_value_norms(state, kind, layer))


def shown_attention_matrix(state) -> np.ndarray | None:
    """What the attention heatmap shows: the weights, or their value-weighted shares; None
    without a trace or a valid selection."""
    matrix = state.attention_matrix()
    if matrix is None or not is_value_weighted(state):
        return matrix
    heads = weighted_heads(state)
    if state.head == "mean":
        return np.ascontiguousarray(heads.mean(axis=0), dtype=np.float32)
    if state.head == "max":
        return np.ascontiguousarray(heads.max(axis=0), dtype=np.float32)
    return heads[state.head]


def shown_selection(state) -> AttentionSelection:
    """The attention pane's selection: ``attention_selection``, value-weighted when asked."""
    selection = attention_selection(state)
    if not is_value_weighted(state):
        return selection
    matrix = shown_attention_matrix(state)
    what = f"{kind_title(selection.kind)}, layer {selection.layer}, {head_title(selection.head)}, {WHAT}"
    return dataclasses.replace(
        selection, matrix=matrix, title_text=f"{selection.model} — {what}" if selection.model else what,
        levels=levels_for(matrix, state.auto_levels, selection.masked))


def shown_table(state) -> DataTable:
    """The attention pane's data. Value-weighted, ``matrix`` is the shown shares, and the NPZ adds
    ``value_norms [heads, keys]`` and the raw ``weights`` of the selection, with which
    ``weights * value_norms[head]`` gives the unnormalised products."""
    selection = shown_selection(state)
    table = selection_table(selection)
    if not is_value_weighted(state):
        return table
    arrays = {"value_norms": layer_value_norms(state),
              "weights": np.asarray(state.attention_matrix(), dtype=np.float32)}
    return dataclasses.replace(table, arrays=arrays,
                               metadata={**table.metadata, "weighting": WHAT})


def weighting_hover(state, row: int, col: int) -> str:
    """' (value-weighted share of the row; weight 0.452, ‖v W_O‖ 1.31)' for a cell; '' when the
    weights are shown."""
    if not is_value_weighted(state) or state.trace is None:
        return ""
    if not isinstance(state.head, int):
        return f" (value-weighted shares of the row, {state.head} of heads)"
    weight = state.attention_matrix()[row, col]
    norm = layer_value_norms(state)[state.head, col]
    return f" (value-weighted share of the row; weight {float(weight):.3g}, ‖v W_O‖ {float(norm):.3g})"
