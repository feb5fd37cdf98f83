"""The compare pane's numbers: run a (the trace on screen) against run b, and b − a. No Qt here.

Run b is another input (``compare_source``) and/or another checkpoint (``compare_checkpoint``) of
the same architecture; the CLI and the window's compare controller both put it in the state as
a ``SecondRun``, and the pane's view, figure and data files all read ``comparison(state)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.compare import compare_traces
from engine.kinds import head_title, kind_title
from engine.readable_tokens import readable_tokens

from ..export.data_files import DataTable
from .selection import AttentionSelection, attention_selection, levels_for

DIFFERENCE_COLORMAP = "CET-D1"  # diverging blue–white–red (colorcet), shipped with pyqtgraph
NO_SECOND_RUN = ("nothing to compare yet: type a second input or open a second checkpoint in the "
                 "Compare tab (CLI: --source2 TEXT and/or --checkpoint2 PATH)")


@dataclass(frozen=True)
class SecondRun:
    """Run b, or why there is none (``message``, with ``trace`` None)."""

    trace: object | None  # engine.Trace
    source: str = ""  # its input
    model_name: str = ""
    checkpoint: str = ""  # its checkpoint path; "" for the model that made run a
    message: str = ""
    trace_a: object | None = None  # the run A it was made against; another A makes it stale


@dataclass(frozen=True)
class Comparison:
    """The three matrices as selections the figures draw, and the arrays the NPZ holds."""

    a: AttentionSelection
    b: AttentionSelection
    difference: AttentionSelection
    arrays: dict[str, np.ndarray]
    title: str


def difference_levels(difference: np.ndarray) -> tuple[float, float]:
    """Levels symmetric about 0, so 0 takes the colormap's middle colour: (-m, m), m = max |b − a|."""
    finite = np.abs(difference[np.isfinite(difference)])
    bound = float(finite.max()) if finite.size else 0.0
    bound = bound if bound > 0 else 1e-6  # equal runs: a white image, not a division by zero
    return (-bound, bound)


def comparison(state, kind: str | None = None, layer: int | None = None,
               head: int | str | None = None) -> Comparison:
    """Run a and run b of the state's selection (or the given one), and their difference.

    Raises ValueError when there is no run a or b, with the controller's message when run b
    failed, and (InputError) naming both shapes and tokenizations when they differ.
    """
    a = attention_selection(state, kind, layer, head)  # raises when there is no trace
    run = state.second_run
    if run is None or run.trace is None:
        raise ValueError(run.message if run is not None and run.message else NO_SECOND_RUN)
    if run.trace_a is not None and run.trace_a is not state.trace:
        raise ValueError("run B is out of date: it is being run again for the new run A")
    arrays = compare_traces(state.trace, run.trace, a.kind, a.layer, a.head)
    trace_b = run.trace
    by_prediction = a.rows_are_predictions and bool(trace_b.predicted_tokens)
    row_pieces_b = list(trace_b.predicted_tokens if by_prediction else trace_b.query_tokens(a.kind))
    rows_b = _labels(trace_b, row_pieces_b)
    columns_b = _labels(trace_b, trace_b.key_tokens(a.kind))
    masked_b = _mask(trace_b, a.kind, a.layer)
    levels = _shared_levels(state.auto_levels, arrays, a.masked, masked_b)
    source_a, source_b = a.source, run.source or a.source
    model_a, model_b = a.model, run.model_name or a.model
    shown_a = replace(a, title_text=f"A: {_run_name(model_a, source_a, model_b != model_a)}",
                       levels=levels)
    b = replace(a, matrix=arrays["matrix_b"], query_tokens=rows_b, key_tokens=columns_b,
                 model=model_b, source=source_b, levels=levels, masked=masked_b,
                 heads=trace_b.attention[a.kind],
                 title_text=f"B: {_run_name(model_b, source_b, model_b != model_a)}",
                 query_pieces=row_pieces_b,
                 key_pieces=list(trace_b.key_tokens(a.kind)))
    both = None if a.masked is None or masked_b is None else a.masked & masked_b
    difference = replace(a, matrix=arrays["difference"], query_tokens=_merged(a.query_tokens, rows_b),
                          key_tokens=_merged(a.key_tokens, columns_b), colormap=DIFFERENCE_COLORMAP,
                          levels=difference_levels(arrays["difference"]), masked=both,
                          title_text="B − A")
    title = f"{model_a} — {kind_title(a.kind)}, layer {a.layer}, {head_title(a.head)}: A, B and B − A"
    return Comparison(shown_a, b, difference, arrays, title)


def compare_table(state) -> DataTable:
    """The difference as the CSV; the NPZ adds ``matrix_a``, ``matrix_b``, ``difference`` and run
    b's tokens (``query_tokens_b``, ``key_tokens_b``)."""
    view = comparison(state)
    a, b = view.a, view.b
    metadata = {**a.metadata(), "model_b": b.model, "source_b": b.source}
    arrays = {**view.arrays, "query_tokens_b": np.array(b.query_pieces, dtype=str),
              "key_tokens_b": np.array(b.key_pieces, dtype=str)}
    return DataTable(view.difference.matrix, list(view.difference.query_tokens),
                     list(view.difference.key_tokens), metadata, arrays,
                     corner="query \\ key (b − a)", row_pieces=a.query_pieces, column_pieces=a.key_pieces)


def compare_what(state) -> str:
    return f"compare-{state.kind}-L{state.layer}-H{state.head}"


# ---- helpers ----------------------------------------------------------------------------------
def _labels(trace, pieces) -> list[str]:
    return list(readable_tokens(pieces, trace.token_style))


def _merged(labels_a: list[str], labels_b: list[str]) -> list[str]:
    """One label where both runs have the same token, "a/b" where they differ."""
    return [x if x == y else f"{x}/{y}" for x, y in zip(labels_a, labels_b, strict=True)]


def _run_name(model: str, source: str, with_model: bool) -> str:
    quoted = f"“{source}”"
    return f"{model} · {quoted}" if with_model else quoted


def _mask(trace, kind: str, layer: int) -> np.ndarray | None:
    return trace.masked_cells(kind, layer)


def _shared_levels(auto: bool, arrays: dict, masked_a, masked_b) -> tuple[float, float]:
    """A and B on one scale: 0..1, or with auto levels the range of both."""
    if not auto:
        return (0.0, 1.0)
    low_a, high_a = levels_for(arrays["matrix_a"], True, masked_a)
    low_b, high_b = levels_for(arrays["matrix_b"], True, masked_b)
    return (min(low_a, low_b), max(high_a, high_b))
