"""The numbers behind a plot: one attention selection, saved as NPZ or CSV.

``AttentionSelection`` is what the attention view shows (matrix, row and column tokens, and what
it is), built either from a Trace directly (the CLI) or from AppState (the GUI), so a file
always matches the screen. No Qt here: the CLI and tests use it without a display.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KIND_TITLES = {"encoder": "encoder self-attention", "decoder": "decoder self-attention",
               "cross": "cross-attention"}
HEAD_MODES = ("mean", "max")
DATA_FORMATS = ("npz", "csv")


@dataclass(frozen=True)
class AttentionSelection:
    """One attention matrix (``[queries, keys]``), its token labels and what it is.

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
    title_text: str = ""  # replaces the attention title (activations)
    axis_names: tuple[str, str] | None = None  # (rows, columns); default from the kind
    heads: np.ndarray | None = field(default=None, repr=False)

    @property
    def head_label(self) -> str:
        return f"{self.head} of heads" if self.head in HEAD_MODES else f"head {self.head}"

    @property
    def title(self) -> str:
        """"model — kind, layer L, head H" as a figure title."""
        if self.title_text:
            return self.title_text
        what = f"{KIND_TITLES.get(self.kind, self.kind)}, layer {self.layer}, {self.head_label}"
        return f"{self.model} — {what}" if self.model else what

    def metadata(self) -> dict:
        fields = {"model": self.model, "kind": self.kind, "layer": self.layer, "head": str(self.head),
                  "source": self.source, "target": self.target}
        if self.hook:
            fields["hook"] = self.hook
        return fields


def parse_head(text: str | int) -> int | str:
    """``"3"`` → 3; ``"mean"``/``"max"`` stay text. Raises ValueError otherwise."""
    if isinstance(text, int) or text in HEAD_MODES:
        return text
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"head must be a number, 'mean' or 'max', not {text!r}") from None


def select_from_trace(trace, kind: str, layer: int, head: int | str, *, model: str = "",
                      source: str = "", target: str = "", colormap: str = "viridis",
                      rows_by_prediction: bool = False, auto_levels: bool = False) -> AttentionSelection:
    """The selection ``(kind, layer, head)`` of a Trace; ValueError names what is out of range."""
    if kind not in trace.attention:
        raise ValueError(f"kind {kind!r} is not in this model; it has {', '.join(trace.attention)}")
    stack = trace.attention[kind]
    n_layers, n_heads = stack.shape[:2]
    if not isinstance(layer, int) or not 0 <= layer < n_layers:
        raise ValueError(f"layer {layer} is out of range: {kind} has layers 0..{n_layers - 1}")
    head = parse_head(head)
    if isinstance(head, int) and not 0 <= head < n_heads:
        raise ValueError(f"head {head} is out of range: the model has heads 0..{n_heads - 1}, "
                         "'mean' or 'max'")
    heads = stack[layer]
    if head == "mean":
        matrix = heads.mean(axis=0)
    elif head == "max":
        matrix = heads.max(axis=0)
    else:
        matrix = heads[head]
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    rows = trace.query_tokens(kind)
    by_prediction = kind != "encoder" and rows_by_prediction and bool(trace.predicted_tokens)
    if by_prediction:
        rows = trace.predicted_tokens
    return AttentionSelection(
        matrix=matrix, query_tokens=list(rows), key_tokens=list(trace.key_tokens(kind)),
        model=model or trace.model_name, kind=kind, layer=layer, head=head, source=source,
        target=target, colormap=colormap, levels=levels_for(matrix, auto_levels),
        auto_levels=auto_levels, rows_are_predictions=by_prediction, heads=stack)


def levels_for(matrix: np.ndarray, auto: bool) -> tuple[float, float]:
    """Fixed 0..1 (attention weights), or the data range when the user asked for auto levels."""
    if not auto or matrix.size == 0:
        return (0.0, 1.0)
    low, high = float(np.min(matrix)), float(np.max(matrix))
    return (low, high) if high > low else (low, low + 1.0)


def select_from_state(state) -> AttentionSelection | None:
    """What the attention view shows right now (AppState's selection, labels and options)."""
    trace = state.trace
    matrix = state.attention_matrix()
    if trace is None or matrix is None:
        return None
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    rows_by_prediction = (state.kind != "encoder" and state.label_rows_by_prediction
                          and bool(trace.predicted_tokens))
    model = trace.model_name or (state.model.name if state.model is not None else "")
    return AttentionSelection(
        matrix=matrix, query_tokens=state.query_labels(), key_tokens=state.key_labels(), model=model,
        kind=state.kind, layer=state.layer, head=state.head, source=state.source_text,
        target=state.target_text or trace.output_text, colormap=state.colormap,
        levels=levels_for(matrix, state.auto_levels), auto_levels=state.auto_levels,
        rows_are_predictions=rows_by_prediction, heads=trace.attention.get(state.kind))


# ---- writing ----------------------------------------------------------------------
def npz_bytes(selection: AttentionSelection, all_heads: bool = False) -> bytes:
    """NPZ with ``matrix``, ``query_tokens``, ``key_tokens``, each metadata field, and ``metadata``
    (the same fields as JSON); with ``all_heads``, also the kind's ``[layers, heads, q, k]`` stack
    (opt-in: 12 × 12 heads at 512 tokens is 150 MB). Everything loads with ``allow_pickle=False``."""
    arrays = {"matrix": selection.matrix.astype(np.float32),
              "query_tokens": np.array(selection.query_tokens, dtype=str),
              "key_tokens": np.array(selection.key_tokens, dtype=str),
              "metadata": np.array(json.dumps(selection.metadata(), ensure_ascii=False))}
    for name, value in selection.metadata().items():
        arrays[name] = np.array(value)
    if all_heads and selection.heads is not None:
        arrays["all_heads"] = np.asarray(selection.heads, dtype=np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def csv_text(selection: AttentionSelection) -> str:
    """The matrix with key tokens as the header row and query tokens as the first column.

    The csv module quotes tokens holding commas, quotes or newlines, so any token round-trips.
    Values use 9 significant digits: enough to give back the exact float32.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["query \\ key", *selection.key_tokens])
    for token, row in zip(selection.query_tokens, selection.matrix, strict=True):
        writer.writerow([token, *(format(float(value), ".9g") for value in row)])
    return buffer.getvalue()


def export_data(selection: AttentionSelection, path, all_heads: bool = False) -> Path:
    """Save as NPZ or CSV (by suffix). Raises ValueError (format) or OSError naming the path."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "npz":
        payload = npz_bytes(selection, all_heads)
    elif fmt == "csv":
        if all_heads:
            raise ValueError(f"{path}: a CSV file holds one matrix; save all heads as .npz")
        payload = csv_text(selection).encode("utf-8")
    else:
        raise ValueError(f"{path}: unknown data format {path.suffix or '(none)'!r}; "
                         "use .npz or .csv")
    write_atomically(path, payload)
    return path


def write_atomically(path, payload: bytes) -> None:
    """Write via a temporary file and a rename, so a failed export never leaves half a file
    (or destroys the previous one). Raises OSError with the path and the reason."""
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    except OSError as error:
        raise OSError(f"cannot write {path}: {error.strerror or error}") from error
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.chmod(temporary, 0o644)  # mkstemp makes files private; an exported figure is not
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(f"cannot write {path}: {error.strerror or error}") from error
