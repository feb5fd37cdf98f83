"""The one guarded reader of JSON from files: bounded nesting, bounded size, clear errors.

Python's json recurses once per nesting level, so a document nested 100,000 deep raises
RecursionError, and a merely deep one (900 levels) parses but breaks whatever walks it later
(``dataclasses.asdict``, the tokenizers library). Nothing read here is ever executed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import CheckpointError

MAX_DEPTH = 64  # real configs and tokenizer.json files nest fewer than 10 levels
MAX_FILE_BYTES = 256 * 2**20  # the largest tokenizer.json files are about 35 MB

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # brackets inside strings do not nest
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")


class JSONError(ValueError):
    """Text that is not JSON, or JSON nested beyond MAX_DEPTH."""


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether ``text`` nests brackets more than ``limit`` deep, found without recursion.

    Each pass removes the innermost ``[]``/``{}`` pairs, so the passes count the depth; text
    whose brackets do not pair up is left for json to report.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return False
        brackets, removed = _EMPTY_PAIR.subn("", brackets)
        if not removed:
            return False
    return bool(brackets)


def loads(text: str | bytes):
    """``json.loads`` that raises JSONError (a ValueError) for every bad document."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise JSONError(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    if not isinstance(text, str):
        raise JSONError(f"expected JSON text, found a {type(text).__name__}")
    if too_deep(text):
        raise JSONError(f"JSON nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # unreachable after too_deep; kept so that no caller ever sees it
        raise JSONError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as error:  # JSONDecodeError, and ints longer than Python's digit limit
        raise JSONError(f"not valid JSON ({error})") from None


def loads_object(text: str | bytes, what: str) -> dict:
    """A JSON object (dict); JSONError names ``what`` when the document is something else."""
    data = loads(text)
    if not isinstance(data, dict):
        raise JSONError(f"{what} is a JSON {type(data).__name__}, not an object")
    return data


def file_label(path: Path) -> str:
    """How messages name a file: with its folder, which is usually the model's name."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def check_file(path: Path, limit: int = MAX_FILE_BYTES) -> None:
    """``path`` is a regular file of at most ``limit`` bytes: not a folder, nor a pipe that
    would block a reader forever. For files that a library then reads itself."""
    label = file_label(path)
    try:
        if not path.is_file():
            kind = "a folder" if path.is_dir() else "missing" if not path.exists() else "not a regular file"
            raise CheckpointError(f"{label}: expected a file, but it is {kind}")
        size = path.stat().st_size
    except OSError as error:
        raise CheckpointError(f"{label}: unreadable ({error.strerror or error})") from None
    if size > limit:
        raise CheckpointError(f"{label}: {size:,} bytes is more than the {limit:,} this file may have")


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes; a folder, a pipe, an unreadable or oversized file is refused."""
    check_file(path, limit)
    try:
        return path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{file_label(path)}: unreadable ({error.strerror or error})") from None


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    try:
        return read_bytes(path, limit).decode("utf-8")
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{file_label(path)}: not UTF-8 text ({error.reason} at byte "
                              f"{error.start})") from None


def read_json(path: Path):
    """Any JSON document from a file; CheckpointError names the file and the problem."""
    try:
        return loads(read_text(path))
    except JSONError as error:
        raise CheckpointError(f"{file_label(path)}: {error}") from None


def read_json_object(path: Path) -> dict:
    data = read_json(path)
    if not isinstance(data, dict):
        raise CheckpointError(f"{file_label(path)}: expected a JSON object, found a "
                              f"{type(data).__name__}")
    return data
