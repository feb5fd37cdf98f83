"""The head-importance and patching results as matrices with labels: for the views, figures and files.

No Qt here. Each ``*_selection`` is an ``AttentionSelection`` (so the app's heatmap figure draws
it) and each ``*_table`` the ``DataTable`` that File → Export data and ``--view NAME --out
F.npz`` write. Keys are those of DESIGN.md: head-importance ``kl`` (the CSV) and
``argmax_changed``; patching ``effect`` (the CSV), ``head_effect`` (the selected attention kind)
and ``head_effect_<kind>`` for every kind.
"""

from __future__ import annotations

import numpy as np

from engine.kinds import kind_title
from engine.readable_tokens import readable_tokens

from ..export.data_files import DataTable
from .selection import AttentionSelection
from .sweeps import HEAD_IMPORTANCE, PATCHING, patching_inputs, required_result

METRIC_TITLES = {"kl": "mean KL(full ‖ ablated), nats", "argmax_changed": "share of top tokens changed"}
EFFECT_COLORMAP = "CET-D1A"  # diverging, white at 0: restores (red) against hurts (blue)


def head_labels(state, kind: str) -> tuple[list[str], list[str]]:
    return ([f"L{layer}" for layer in range(state.n_layers(kind))],
            [f"H{head}" for head in range(state.n_heads())])


def importance_of(state, kind: str | None = None):
    """The engine's HeadImportance for ``kind`` (default: the selected one)."""
    return required_result(state, HEAD_IMPORTANCE)[kind or state.kind]


def importance_levels(matrix: np.ndarray, metric: str) -> tuple[float, float]:
    if metric == "argmax_changed":
        return (0.0, 1.0)
    finite = matrix[np.isfinite(matrix)]
    high = float(finite.max()) if finite.size else 0.0
    return (0.0, high if high > 0 else 1e-6)


def head_importance_selection(state) -> AttentionSelection:
    result = importance_of(state)
    metric = state.importance_metric
    matrix = np.ascontiguousarray(getattr(result, metric), dtype=np.float32)
    rows, columns = head_labels(state, result.kind)
    return AttentionSelection(
        matrix=matrix, query_tokens=rows, key_tokens=columns, model=state.model_name(),
        kind=result.kind, colormap=state.colormap, levels=importance_levels(matrix, metric),
        title_text=f"{state.model_name()} — head importance, {kind_title(result.kind)}: "
                   f"{METRIC_TITLES[metric]}",
        axis_names=("layer", "head (ablated alone)"))


def head_importance_table(state) -> DataTable:
    result = importance_of(state)
    rows, columns = head_labels(state, result.kind)
    source, target = state.trace_inputs
    return DataTable(result.kl, rows, columns,
                     {"model": state.model_name(), "kind": result.kind, "source": source,
                      "target": target, "positions": result.positions, "kl_units": "nats"},
                     {"kl": result.kl, "argmax_changed": result.argmax_changed},
                     names=("layers", "heads"), corner="layer \\ head")


def position_labels(result) -> list[str]:
    """"white→black" where the two texts differ, else the (shared) token: readable forms."""
    clean = readable_tokens(result.clean_tokens, result.token_style)
    corrupted = readable_tokens(result.corrupted_tokens, result.token_style)
    return [a if a == b else f"{a}→{b}" for a, b in zip(clean, corrupted, strict=True)]


def residual_rows(result) -> list[str]:
    """"L0 resid_pre", …: the residual entering each layer of the patched stack."""
    return [f"L{layer} resid_pre" for layer in range(result.effect.shape[0])]


def effect_levels(matrix: np.ndarray) -> tuple[float, float]:
    """Symmetric about 0, at least ±1: an effect of 1 (full restoration) always reads the same."""
    finite = np.abs(matrix[np.isfinite(matrix)])
    reach = max(1.0, float(finite.max()) if finite.size else 1.0)
    return (-reach, reach)


def patching_selection(state, heads: bool = False) -> AttentionSelection:
    """The residual effect map (layers × positions), or with ``heads`` the selected kind's heads."""
    result = required_result(state, PATCHING)
    model = state.model_name()
    if heads:
        kind = state.kind if state.kind in result.head_effect else next(iter(result.head_effect))
        matrix = result.head_effect[kind]
        rows, columns = head_labels(state, kind)
        title = f"{model} — head patching, {kind_title(kind)}"
        axes = ("layer", "head")
    else:
        matrix = result.effect
        rows = residual_rows(result)
        columns = position_labels(result)
        title = f"{model} — residual patching, clean → corrupted"
        axes = ("layer (resid_pre)", "position (clean→corrupted)")
        kind = "encoder" if result.stack == "encoder" else "decoder"
    return AttentionSelection(matrix=np.ascontiguousarray(matrix, dtype=np.float32), query_tokens=rows,
                              key_tokens=columns, model=model, kind=kind, colormap=EFFECT_COLORMAP,
                              levels=effect_levels(matrix), title_text=title, axis_names=axes)


def patching_table(state) -> DataTable:
    result = required_result(state, PATCHING)
    clean, corrupted, target = patching_inputs(state)
    kind = state.kind if state.kind in result.head_effect else next(iter(result.head_effect))
    arrays = {"effect": result.effect, "head_effect": result.head_effect[kind],
              "corrupted_tokens": np.array(result.corrupted_tokens, dtype=str),
              "target_tokens": np.array(result.target_tokens, dtype=str)}
    arrays.update({f"head_effect_{k}": v for k, v in result.head_effect.items()})
    rows = residual_rows(result)
    metadata = {"model": state.model_name(), "stack": result.stack, "head_effect_kind": kind,
                "clean": clean, "corrupted": corrupted, "target": target or "",
                "metric": result.metric, "m_clean": result.m_clean, "m_corrupted": result.m_corrupted}
    return DataTable(result.effect, rows, position_labels(result), metadata, arrays,
                     names=("layers", "clean_tokens"), corner="layer \\ position",
                     column_pieces=list(result.clean_tokens))
