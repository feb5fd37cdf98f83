"""Pieces shared by the synthetic tasks: a pair with its gold alignment, and the train/eval split.

Every pair is assigned to ``"train"`` or ``"eval"`` by a hash of its source text alone, so the
two sides can never share a sentence, whatever seeds the generators are given.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..tokenizer import WORD_PATTERN

EVAL_SHARE = 0.1  # the share of all possible source sentences kept for evaluation
SPLITS = ("train", "eval")


@dataclass(frozen=True)
class Pair:
    """A source sentence, its target, and each target word's gold-aligned source words.

    ``alignment[j]`` holds indices into ``source`` (word positions, without special tokens);
    an empty tuple marks a target word that translates nothing (e.g. a date's dashes).
    """

    source: tuple[str, ...]
    target: tuple[str, ...]
    alignment: tuple[tuple[int, ...], ...]

    @property
    def source_text(self) -> str:
        return join_words(self.source)

    @property
    def target_text(self) -> str:
        return join_words(self.target)


def words_of(text: str) -> list[str]:
    """The words the engine's word-level tokenizer sees in ``text`` (lower-cased)."""
    return re.findall(WORD_PATTERN, text.lower())


def join_words(words) -> str:
    """Text that the word-level tokenizer splits back into exactly ``words``."""
    text = " ".join(words)
    return re.sub(r"(\w') ", r"\1", text)  # elisions attach to the next word: "l'arbre"


def split_of(source_text: str) -> str:
    """``"train"`` or ``"eval"``: a fixed function of the source text (never of a seed)."""
    digest = hashlib.blake2b(source_text.encode("utf-8"), digest_size=8).digest()
    return "eval" if int.from_bytes(digest, "big") / 2**64 < EVAL_SHARE else "train"


def generate_pairs(make_pair: Callable[[random.Random], Pair], n: int, seed: int, split: str,
                   unique: bool = False) -> list[Pair]:
    """``n`` pairs from ``make_pair``, all of ``split``; the same seed gives the same list."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rng = random.Random(f"{split}:{seed}")
    pairs: list[Pair] = []
    seen: set[str] = set()
    attempts = 0
    while len(pairs) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise RuntimeError(f"could not draw {n} distinct {split} pairs")
        pair = make_pair(rng)
        text = pair.source_text
        if split_of(text) != split:
            continue
        if unique:
            if text in seen:
                continue
            seen.add(text)
        pairs.append(pair)
    return pairs
