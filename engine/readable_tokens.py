"""Readable token labels: byte-level pieces decoded to text, one visible word-start mark.

A Trace keeps the tokenizer's own pieces ("Ġcaf", "Ã©", "▁chat"); every view, axis, tooltip
and figure shows ``readable_token(piece, trace.token_style)`` instead ("·caf", "é", "·chat").
This module is the one place that knows how. It imports nothing heavy (no torch, no Qt).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

WORD_START = "·"  # how a word-start marker (SentencePiece "▁", byte-level "Ġ" = a space) reads
NEWLINE, TAB = "↵", "⇥"
STYLES = ("plain", "byte-level", "metaspace", "wordpiece")
METASPACE = "▁"


@lru_cache(maxsize=1)
def _byte_of_char() -> dict[str, int]:
    """The inverse of GPT-2's byte → printable-character table (bytes_to_unicode)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    table = {chr(b): b for b in printable}
    shifted = 0
    for byte in range(256):
        if byte not in printable:
            table[chr(256 + shifted)] = byte
            shifted += 1
    return table


def _bytes_text(piece: str) -> str | None:
    """A byte-level piece as text; None when the piece is not byte-level (a special token)."""
    table = _byte_of_char()
    try:
        raw = bytes(table[char] for char in piece)
    except KeyError:
        return None
    # A character split across tokens leaves partial UTF-8: show those bytes as \xNN.
    return raw.decode("utf-8", errors="backslashreplace")


def _marks(text: str) -> str:
    """Whitespace made visible: spaces as the word-start mark, newlines and tabs as arrows,
    and other control characters (a random model's byte 0x01) as escapes, never an empty box."""
    text = text.replace(" ", WORD_START).replace("\n", NEWLINE).replace("\t", TAB).replace("\r", "")
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in text):
        text = "".join(char.encode("unicode_escape").decode("ascii")
                       if unicodedata.category(char) in ("Cc", "Cf") else char for char in text)
    return text


def _visible(text: str, piece: str) -> str:
    """``text`` when it shows; other whitespace (no-break, ideographic) as escapes; else ``piece``."""
    if text.strip():
        return text
    return text.encode("unicode_escape").decode("ascii") if text else piece


def readable_token(piece: str, style: str = "plain") -> str:
    """How a person reads ``piece`` of a tokenizer of ``style`` (one of STYLES)."""
    if style == "byte-level":
        text = _bytes_text(piece)
        return _visible(_marks(text if text is not None else piece), piece)
    if style == "metaspace":
        return _visible(_marks(piece.replace(METASPACE, " ")), piece)
    if piece and not piece.strip():  # a whitespace-only piece of any style stays visible
        return _visible(_marks(piece), piece)
    return piece


def readable_tokens(pieces, style: str = "plain") -> list[str]:
    """``readable_token`` of every piece, in order."""
    return [readable_token(piece, style) for piece in pieces]


def at_position(label: str, position: int) -> str:
    """A token named with its position, as hovers show it: '"cat" #3', so repeats differ."""
    return f'"{label}" #{position}'
