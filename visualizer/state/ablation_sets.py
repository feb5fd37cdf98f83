"""Ablation sets and their effects, without Qt: "keep only", the engine request, the data file."""

from __future__ import annotations

import numpy as np

from engine.readable_tokens import readable_tokens

from ..export.data_files import DataTable
from .sweeps import SweepRequest

EFFECT_COLUMNS = ("p_before", "p_after", "delta_prob", "kl")


def kind_heads(state, kind: str) -> set[tuple[str, int, int]]:
    return {(kind, layer, head) for layer in range(state.n_layers(kind)) for head in range(state.n_heads())}


def keep_only(state, kind: str, kept) -> frozenset:
    """The ablation set with every head of ``kind`` ablated except ``kept``; other kinds unchanged."""
    others = {item for item in state.ablated if item[0] != kind}
    return frozenset(others | (kind_heads(state, kind) - set(kept)))


def swapped(state, kind: str) -> frozenset:
    """Within ``kind``, the ablated heads restored and the others ablated."""
    mine = {item for item in state.ablated if item[0] == kind}
    return frozenset({item for item in state.ablated if item[0] != kind} | (kind_heads(state, kind) - mine))


def effects_request(state) -> SweepRequest | None:
    """The engine call for the shown trace's ablation set, or None when nothing is ablated."""
    trace, model = state.trace, state.model
    if trace is None or model is None or not trace.ablated:
        return None
    from engine.ablation_effects import ablation_effects

    source, target = state.trace_inputs
    budget = state.max_new_tokens if model.config.architecture == "decoder-only" else None
    heads = trace.ablated
    key = (id(model), source, target, heads, budget)

    def run(progress=None, should_stop=None):
        return ablation_effects(model, source, heads, target or None, max_new_tokens=budget)

    return SweepRequest("ablation-effects", key, run, "comparing the runs with and without the ablation")


def effects_table(effects, model_name: str, source: str) -> DataTable:
    """Rows: positions (their tokens); columns: p_before, p_after, delta_prob, kl. NPZ keys alike."""
    matrix = np.stack([getattr(effects, name) for name in EFFECT_COLUMNS], axis=1).astype(np.float32)
    arrays = {name: getattr(effects, name) for name in EFFECT_COLUMNS}
    arrays["top_tokens"] = np.array(effects.top_tokens, dtype=str)
    arrays["after_top_tokens"] = np.array(effects.after_top_tokens, dtype=str)
    metadata = {"model": model_name, "source": source, "before": effects.before_text,
                "after": effects.after_text,
                "ablated": ", ".join(f"{k}:{layer}:{head}" for k, layer, head in effects.ablated)}
    return DataTable(matrix, readable_tokens(effects.tokens, effects.token_style), list(EFFECT_COLUMNS),
                     metadata, arrays, names=("tokens", "columns"), corner="position \\ value",
                     row_pieces=list(effects.tokens))
