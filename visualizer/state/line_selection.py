"""Which attention lines the head-lines pane and its figure draw. No Qt here.

Weights below MIN_WEIGHT are skipped (all but invisible, and skipping them keeps 512 tokens
fast), and of the rest only the MAX_LINES strongest are kept: more would be a grey wash.
"""

from __future__ import annotations

import numpy as np

# Distinct hues that read on white, cycled, for heads and tokens alike; orange is left out: it
# marks the hovered token in every pane.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#393b79", "#637939", "#7b4173", "#843c39")
CROWD_RGBA = (31, 119, 180, 90)  # many tokens: one thin translucent blue, so the crowd reads as a band
AGGREGATE_COLOR = "#3060c0"  # the one colour of a single head or of the mean/max of heads
SUMMARY = -1  # the "head" of lines drawn for the mean or max of heads
MIN_WEIGHT = 0.02
MAX_LINES = 3000
LINE_DTYPE = np.dtype([("head", np.int16), ("query", np.int32), ("key", np.int32), ("weight", np.float32)])


def line_matrices(state) -> dict[int, np.ndarray]:
    """head -> ``[queries, keys]``: every head of the layer (``lines_all_heads``), or the selected
    head, or the mean/max of heads under ``SUMMARY``. Empty without a trace."""
    trace = state.trace
    if trace is None or state.kind not in trace.attention:
        return {}
    stack = trace.attention[state.kind]
    if not 0 <= state.layer < stack.shape[0]:
        return {}
    if state.lines_all_heads:
        return {h: stack[state.layer, h] for h in range(stack.shape[1])}
    head = state.head if isinstance(state.head, int) else SUMMARY
    return {head: state.attention_matrix()}  # kept by the state: a mean of heads is costly


def select_lines(matrices: dict[int, np.ndarray], isolated: tuple[str, int] = ("", -1),
                 max_lines: int = MAX_LINES) -> np.ndarray:
    """(head, query, key, weight) of the lines to draw; ``isolated`` = ("query" | "key", position)
    keeps only that token's lines."""
    column, position = isolated
    parts = []
    for head, matrix in matrices.items():
        shown = matrix >= MIN_WEIGHT
        if column == "query":
            shown[np.arange(matrix.shape[0]) != position] = False
        elif column == "key":
            shown[:, np.arange(matrix.shape[1]) != position] = False
        queries, keys = np.nonzero(shown)
        part = np.empty(len(queries), dtype=LINE_DTYPE)
        part["head"], part["query"], part["key"] = head, queries, keys
        part["weight"] = matrix[queries, keys]
        parts.append(part)
    lines = np.concatenate(parts) if parts else np.empty(0, dtype=LINE_DTYPE)
    if len(lines) > max_lines:
        lines = lines[np.argpartition(lines["weight"], -max_lines)[-max_lines:]]
    return lines


def head_color(head: int) -> str:
    return AGGREGATE_COLOR if head < 0 else PALETTE[head % len(PALETTE)]


def line_colors(lines: np.ndarray) -> dict[int, str]:
    """The colour of every head that has a line."""
    return {int(h): head_color(int(h)) for h in np.unique(lines["head"])}
