"""The numbers behind a pane, as NPZ or CSV files. No Qt here: the CLI writes them headlessly.

A pane's data is a ``DataTable``: named arrays for the NPZ, one labelled matrix for the CSV, and
metadata saying what it is. Files are written atomically, so a failed export loses nothing.
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

from .formats import format_of


@dataclass(frozen=True)
class DataTable:
    """What a pane exports: ``matrix`` with ``row_labels`` × ``column_labels`` (the CSV), plus any
    further ``arrays`` and ``metadata`` (the NPZ holds all of them).

    Labels are what the screen shows (readable tokens); the NPZ holds ``row_pieces`` and
    ``column_pieces`` instead when given: the tokenizer's own pieces, as the Trace has them.
    """

    matrix: np.ndarray
    row_labels: list[str]
    column_labels: list[str]
    metadata: dict = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    names: tuple[str, str] = ("query_tokens", "key_tokens")  # NPZ keys of the two label lists
    corner: str = "query \\ key"  # the CSV's top-left cell
    csv_refusal: str = ""  # why a CSV file cannot hold this data (it is more than one matrix)
    row_pieces: list[str] | None = None
    column_pieces: list[str] | None = None


def selection_table(selection, all_heads: bool = False) -> DataTable:
    """An attention (or activation) selection's matrix and tokens; ``all_heads`` adds the kind's
    ``[layers, heads, q, k]`` stack as ``all_heads`` (12 × 12 heads at 512 tokens is 150 MB)."""
    arrays = {}
    if all_heads and selection.heads is not None:
        arrays["all_heads"] = np.asarray(selection.heads, dtype=np.float32)
    refusal = "a CSV file holds one matrix: save all heads as .npz" if all_heads else ""
    return DataTable(selection.matrix, list(selection.query_tokens), list(selection.key_tokens),
                     selection.metadata(), arrays, csv_refusal=refusal,
                     row_pieces=selection.query_pieces, column_pieces=selection.key_pieces)


def npz_bytes(table: DataTable) -> bytes:
    """NPZ with ``matrix``, the two token lists (the tokenizer's pieces), every array, each
    metadata field, and ``metadata`` (the same fields as JSON). Everything loads with
    ``allow_pickle=False``."""
    rows, columns = table.names
    row_tokens = table.row_labels if table.row_pieces is None else table.row_pieces
    column_tokens = table.column_labels if table.column_pieces is None else table.column_pieces
    arrays = {"matrix": np.asarray(table.matrix, dtype=np.float32),
              rows: np.array(row_tokens, dtype=str),
              columns: np.array(column_tokens, dtype=str),
              "metadata": np.array(json.dumps(table.metadata, ensure_ascii=False))}
    arrays.update(table.arrays)
    for name, value in table.metadata.items():
        arrays.setdefault(name, np.array(value))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def csv_text(table: DataTable) -> str:
    """The matrix with the column labels as the header row and the row labels as the first column.

    The csv module quotes tokens holding commas, quotes or newlines, so any token round-trips.
    Values use 9 significant digits: enough to give back the exact float32; NaN is written "nan".
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([table.corner, *table.column_labels])
    for label, row in zip(table.row_labels, table.matrix, strict=True):
        writer.writerow([label, *(format(float(value), ".9g") for value in row)])
    return buffer.getvalue()


def export_data(table: DataTable, path) -> Path:
    """Save as NPZ or CSV (by suffix). Raises ValueError (format) or OSError naming the path."""
    path = Path(path)
    fmt = format_of(path, "data")
    if fmt.suffix == "csv" and table.csv_refusal:
        raise ValueError(f"{path}: {table.csv_refusal}")
    write_atomically(path, npz_bytes(table) if fmt.suffix == "npz" else csv_text(table).encode("utf-8"))
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
