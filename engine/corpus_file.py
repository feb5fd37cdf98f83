"""A corpus file: one input a line, "source<TAB>target" or a source alone; blank lines skipped.

    lines = read_corpus("sentences.txt")   # [CorpusLine(number=1, source=..., target=...), ...]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

MAX_LINES = 10_000  # inputs a corpus may hold: well under a minute of the shipped translator


@dataclass(frozen=True)
class CorpusLine:
    """One input: its line number in the file (from 1), the source text and the target, if any."""

    number: int
    source: str
    target: str | None = None



def parse_lines(lines: Iterable[str], limit: int = MAX_LINES) -> list[CorpusLine]:
    """Inputs from text lines: blank lines skipped, a tab parts source from target.

    Raises InputError when there are more than ``limit`` inputs, or none.
    """
    inputs = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if len(inputs) == limit:
            raise InputError(f"the corpus has more than {limit:,} inputs (line {number} is the "
                             f"{limit + 1:,}th); split it into files of at most {limit:,} lines")
        source, tab, target = line.partition("\t")
        inputs.append(CorpusLine(number, source.strip(), target.strip() or None if tab else None))
    if not inputs:
        raise InputError("the corpus holds no input: every line is blank")
    return inputs


def read_corpus(path, limit: int = MAX_LINES) -> list[CorpusLine]:
    """The inputs of a UTF-8 text file (see ``parse_lines``); InputError naming the file."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as stream:
            return parse_lines(stream, limit)
    except UnicodeDecodeError as error:
        raise InputError(f"{path.name} is not UTF-8 text (byte {error.start} cannot be read)") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except InputError as error:
        raise InputError(f"{path.name}: {error}") from None
