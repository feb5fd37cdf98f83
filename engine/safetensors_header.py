"""Reading and checking a safetensors file's header before the library reads its tensors.

Layout: 8 bytes (little-endian header length), a JSON object, then the tensor bytes. The
object maps tensor names to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (byte
positions after the header) and may hold ``__metadata__``, an object of strings.
"""

from __future__ import annotations

import struct
from pathlib import Path

from . import safe_json
from .errors import CheckpointError

MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit


def read_safetensors_header(path: Path, label: str | None = None) -> dict:
    """The header of a safetensors file, after checking that it is whole and well formed.

    ``label`` names the file in messages (default: its name).
    """
    label = label or path.name
    try:
        if not path.is_file():
            raise CheckpointError(f"{label}: expected a safetensors file, but it is "
                                  f"{'a folder' if path.is_dir() else 'not a regular file'}")
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{label}: not a checkpoint (only {size} bytes)")
            (header_len,) = struct.unpack("<Q", prefix)
            first = handle.read(1)
            if first != b"{" or header_len > MAX_HEADER_BYTES:
                raise CheckpointError(f"{label}: not a checkpoint (no safetensors header)")
            if header_len > size - 8:
                raise CheckpointError(f"{label}: truncated file: the header needs {header_len} "
                                      f"bytes but only {size - 8} remain")
            raw = first + handle.read(header_len - 1)
    except OSError as error:
        raise CheckpointError(f"{label}: unreadable ({error.strerror or error})") from None
    try:
        header = safe_json.loads_object(raw, "the header")
    except safe_json.JSONError as error:
        raise CheckpointError(f"{label}: corrupt header ({error})") from None
    _check_metadata(header.get("__metadata__"), label)
    spans = [_tensor_span(name, entry, label) for name, entry in header.items()
             if name != "__metadata__"]
    available = size - 8 - header_len
    data_end = max((end for _, end, _ in spans), default=0)
    if data_end > available:
        raise CheckpointError(f"{label}: truncated file: tensor data needs {data_end} bytes "
                              f"but only {available} are present")
    _check_overlaps(spans, label)
    return header


def _check_metadata(metadata, label: str) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{label}: corrupt header: __metadata__ is a "
                              f"{type(metadata).__name__}, not an object of strings")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise CheckpointError(f"{label}: corrupt header: __metadata__[{key!r}] is a "
                                  f"{type(value).__name__}, not a string")


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensor_span(name: str, entry, label: str) -> tuple[int, int, str]:
    """``(begin, end, name)`` of one tensor entry, after checking its fields' types."""
    where = f"{label}: corrupt header: tensor {name!r}"
    if not isinstance(entry, dict):
        raise CheckpointError(f"{where} is described by a {type(entry).__name__}, not an object")
    offsets = entry.get("data_offsets")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_whole, offsets))
            and offsets[0] <= offsets[1]):
        raise CheckpointError(f"{where}: data_offsets {_short(offsets)} are not two byte "
                              "positions [begin, end] with begin <= end")
    shape = entry.get("shape")
    if not (isinstance(shape, list) and all(map(_whole, shape))):
        raise CheckpointError(f"{where}: shape {_short(shape)} is not a list of sizes")
    if not isinstance(entry.get("dtype"), str):
        raise CheckpointError(f"{where}: dtype {_short(entry.get('dtype'))} is not a type name")
    return offsets[0], offsets[1], name


def _check_overlaps(spans: list[tuple[int, int, str]], label: str) -> None:
    previous_end, previous = 0, None
    for begin, end, name in sorted(s for s in spans if s[0] < s[1]):
        if begin < previous_end:
            raise CheckpointError(f"{label}: corrupt header: the bytes of tensors {previous!r} "
                                  f"and {name!r} overlap")
        previous_end, previous = end, name


def _short(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
