"""Repeated random word spans, for a decoder-only LM that learns induction heads.

A sequence is distinct random English words whose last ``span`` words are then repeated:
"boats calm eight sings river calm eight sings river". The first words cannot be predicted;
once the repeat starts, each next word is whatever followed the current word the first time.
A model that gets the repeat right looks back at the word after the current word's earlier
occurrence: the pattern of an induction head (DESIGN.md head-stats, ``induction``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from ..head_stats import head_stats
from .common import generate_pairs, join_words
from .french_lexicon import ADJECTIVES, NOUNS, NUMBERS, PREPOSITIONS, VERBS

ARCHITECTURE = "decoder-only"
GROUP_SCORE = 0.5  # an induction score at which a head counts as one of the induction heads
MIN_SPAN, MAX_SPAN = 2, 20  # words in the repeated span
MAX_PREFIX = 8  # distinct words before the span, so the span starts anywhere
WORDS: tuple[str, ...] = tuple(dict.fromkeys(
    [w for n in NOUNS for w in (n.en, n.en_plural)] + [a.en for a in ADJECTIVES]
    + [w for v in VERBS for w in (v.en, v.en_base)] + list(PREPOSITIONS) + list(NUMBERS)))


@dataclass(frozen=True)
class Repeat:
    """``source``: the words (prefix, span, span again); the repeat starts at ``repeat_start``."""

    source: tuple[str, ...]
    repeat_start: int

    @property
    def source_text(self) -> str:
        return join_words(self.source)

    @property
    def predictable(self) -> range:
        """Word indices that follow from earlier words: the repeat, after its first word."""
        return range(self.repeat_start + 1, len(self.source))


def make_repeat(rng: random.Random) -> Repeat:
    # Short spans are common (a span of 2 in one sequence in five). Measured: with spans of 4
    # or more, models matched words through heads blurred over several earlier positions and
    # no head scored above 0.2; a word repeated two positions back can only be matched through
    # the word exactly one back, so they learn the previous-token-then-induction circuit.
    span = rng.randint(MIN_SPAN, rng.randint(MIN_SPAN, MAX_SPAN))
    words = rng.sample(WORDS, rng.randint(0, MAX_PREFIX) + span)
    return Repeat(tuple(words + words[-span:]), len(words))


def generate(n: int, seed: int, split: str = "train", unique: bool = False) -> list[Repeat]:
    """``n`` sequences of ``split`` (train and eval never share one); the same seed, the same list."""
    return generate_pairs(make_repeat, n, seed, split, unique)


def vocabulary() -> list[str]:
    return list(WORDS)


def tokenizer():
    """Word-level, with ``<s>`` first (the model's start token) and no end token."""
    from ..tokenizer import word_level_tokenizer

    return word_level_tokenizer(WORDS, append_eos=False, prepend_bos=True)


def training_example(tokenizer, example: Repeat) -> tuple[list[int], list[int | None]]:
    """Token ids and, per position, the id to predict there (None: not a target).

    Only the repeat is a target. Measured: with every next word a target, the unpredictable
    first half drowns the signal and 3,000 steps get 26% of the repeat right instead of 100%.
    """
    ids = tokenizer.encode(example.source_text).ids
    targets: list[int | None] = [None] * len(ids)
    for j in example.predictable:  # word j is token j + 1, predicted at position j
        targets[j] = ids[j + 1]
    return ids, targets


def score(model, examples: list[Repeat]) -> dict:
    """Held-out next-word accuracy on the repeats, and the heads that do the copying.

    ``heads`` names the best induction head, and the previous-token head in an earlier layer
    that it reads. ``zeroed`` gives the accuracy again with every head whose induction score is
    at least ``GROUP_SCORE`` zeroed at once, to show that they do the work.
    """
    right = total = whole = 0
    sums: dict[str, np.ndarray] = {}
    for example in examples:
        trace = model.run(example.source_text, max_new_tokens=0)
        hits = _hits(trace, example)
        right, total, whole = right + sum(hits), total + len(hits), whole + all(hits)
        for name, values in head_stats(trace, "decoder").items():
            sums[name] = sums.get(name, 0) + values.astype(np.float64)
    induction = sums["induction"] / len(examples)
    previous = sums["previous_token"] / len(examples)
    best = _best_head(induction, "induction")
    # The head that tells the induction head which word came before sits in an earlier layer.
    heads = [best, _best_head(previous[:max(best["layer"], 1)], "previous_token")]
    group = [[int(layer), int(head)] for layer, head in np.argwhere(induction >= GROUP_SCORE)]
    return {
        "n": len(examples),
        "repeat_accuracy": right / max(total, 1),
        "repeat_tokens": total,
        "sequence_accuracy": whole / len(examples),
        "heads": heads,
        "zeroed": {"role": "induction", "kind": "decoder", "heads": group, "score": "repeat_accuracy",
                   "value": repeat_accuracy(model, examples, [("decoder", *pair) for pair in group])},
        "induction_per_head": np.round(induction, 4).tolist(),
        "previous_token_per_head": np.round(previous, 4).tolist(),
    }



def repeat_accuracy(model, examples: list[Repeat], ablate=()) -> float:
    """The share of repeated words predicted right, with the ``ablate`` heads zeroed."""
    hits = [hit for example in examples
            for hit in _hits(model.run(example.source_text, max_new_tokens=0, ablate=ablate,
                                       record=False), example)]
    return sum(hits) / max(len(hits), 1)


def _hits(trace, example: Repeat) -> list[bool]:
    # Token position t + 1 holds word t (<s> comes first), so word j is predicted at position j.
    return [trace.predicted_tokens[j] == example.source[j] for j in example.predictable]


def _best_head(values: np.ndarray, statistic: str) -> dict:
    """The head with the highest mean ``statistic``, as the summary's ``heads`` list has it."""
    layer, head = np.unravel_index(int(np.nanargmax(values)), values.shape)
    return {"role": statistic.replace("_", "-"), "kind": "decoder", "layer": int(layer),
            "head": int(head), "statistic": statistic, "score": round(float(values[layer, head]), 4)}
