"""AttentionSelection: one matrix with its token labels and what it is, made from a ViewState.

The attention, all-heads and head-lines panes draw it, their figures paint it and their data
files hold it, in the GUI and the CLI alike, so a file always matches the screen. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.kinds import KINDS, head_title, kind_title


@dataclass(frozen=True)
class AttentionSelection:
    """A ``[rows, columns]`` matrix, its labels and what it is.

    ``query_tokens`` and ``key_tokens`` are the labels as shown (readable tokens: figures, CSV);
    ``query_pieces`` and ``key_pieces`` the tokenizer's own pieces behind them (NPZ), or None
    where the labels are all there is (feature numbers).
    ``heads`` optionally holds the whole ``[layers, heads, q, k]`` stack of the kind (for the
    all-heads figure and NPZ); ``levels`` are the colour levels the screen uses.
    """

    matrix: np.ndarray
    query_tokens: list[str]
    key_tokens: list[str]
    model: str = ""
    kind: str = "encoder"
    layer: int = 0
    head: int | str = 0
    source: str = ""
    target: str = ""
    colormap: str = "viridis"
    levels: tuple[float, float] = (0.0, 1.0)
    auto_levels: bool = False  # levels follow the data instead of 0..1
    rows_are_predictions: bool = False  # rows labelled by the predicted next token
    hook: str = ""  # set when the matrix is an activation (rows tokens, columns features)
    title_text: str = ""  # replaces the attention title (activations, all heads of a layer)
    axis_names: tuple[str, str] | None = None  # (rows, columns); default from the kind
    heads: np.ndarray | None = field(default=None, repr=False)
    masked: np.ndarray | None = field(default=None, repr=False)  # True where a mask hides the key
    mask_label: str = "masked"  # what the figure's key calls the grey cells of ``masked``
    query_pieces: list[str] | None = None
    key_pieces: list[str] | None = None

    @property
    def title(self) -> str:
        """"model — kind, layer L, head H" as a figure title."""
        if self.title_text:
            return self.title_text
        what = f"{kind_title(self.kind)}, layer {self.layer}, {head_title(self.head)}"
        return f"{self.model} — {what}" if self.model else what

    def axis_titles(self) -> tuple[str, str]:
        """(rows, columns): "queries (target tokens)", "keys (source tokens)" and the like."""
        if self.axis_names is not None:
            return self.axis_names
        rows_name, columns_name = KINDS[self.kind].axis_names if self.kind in KINDS else ("", "")
        if self.rows_are_predictions:
            rows_name = "predicted next tokens"
        return f"queries ({rows_name})", f"keys ({columns_name})"

    def metadata(self) -> dict:
        fields = {"model": self.model, "kind": self.kind, "layer": self.layer,
                  "head": str(self.head), "source": self.source, "target": self.target}
        if self.hook:
            fields["hook"] = self.hook
        return fields


def levels_for(matrix: np.ndarray, auto: bool, masked: np.ndarray | None = None) -> tuple[float, float]:
    """Fixed 0..1 (attention weights), or the data range when the user asked for auto levels.

    The range spans the finite cells no mask hides (``masked`` broadcasts to the matrix): a
    mask's zeros are not weights, and would stretch every scale down to 0.
    """
    if not auto:
        return (0.0, 1.0)
    keep = np.isfinite(matrix)
    if masked is not None:
        keep &= ~np.broadcast_to(masked, matrix.shape)
    if not keep.any():
        return (0.0, 1.0)
    low = float(np.min(matrix, where=keep, initial=np.inf))
    high = float(np.max(matrix, where=keep, initial=-np.inf))
    return (low, high) if high > low else (low, low + 1e-6)


def layer_masks(state, kind: str | None = None) -> list[np.ndarray | None]:
    """Every layer's masked cells of ``kind`` (local windows differ by layer), for the grid."""
    kind = kind or state.kind
    return [state.masked_cells(kind, layer) for layer in range(state.n_layers(kind))]


def attention_selection(state, kind: str | None = None, layer: int | None = None,
                        head: int | str | None = None) -> AttentionSelection:
    """The state's selection (or the given kind, layer, head) of its trace.

    Raises ValueError naming what is missing or out of range (no trace, a kind, layer or head).
    """
    trace = state.trace
    if trace is None:
        raise ValueError("nothing to export yet: run a sentence first")
    kind = kind or state.kind
    layer = state.layer if layer is None else layer
    head = state.head if head is None else head
    matrix = state.attention_matrix(kind, layer, head)  # the state keeps the costly mean of heads
    if matrix is None:
        matrix = trace.matrix(kind, layer, head)  # raises the ValueError naming what is wrong
    masked = state.masked_cells(kind, layer)
    source, target = state.trace_inputs
    return AttentionSelection(
        matrix=matrix, query_tokens=state.query_labels(kind), key_tokens=state.key_labels(kind),
        model=state.model_name(), kind=kind, layer=layer, head=head, source=source,
        target=target or trace.output_text, colormap=state.colormap,
        levels=levels_for(matrix, state.auto_levels, masked), auto_levels=state.auto_levels,
        rows_are_predictions=state.rows_by_prediction(kind), heads=trace.attention[kind],
        masked=masked, query_pieces=state.query_pieces(kind), key_pieces=state.key_pieces(kind))
