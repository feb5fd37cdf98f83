"""The ``predictions`` analysis: the top-k tokens at every position with logits (numpy only).

    preds = top_predictions(trace.logits, model.target_tokenizer.id_to_token, k=10)
    preds.top_tokens[p]  # the k likeliest pieces at position preds.positions[p], likeliest first

Probabilities are the softmax of the trace's own logits, a block of rows at a time (a 2,048 ×
50k vocabulary never needs a second full-size array), stored as float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .errors import InputError

DEFAULT_TOP_K = 10
MASK_TOKENS = ("[MASK]", "<mask>")  # BERT-style and RoBERTa-style mask pieces
_ROWS_PER_BLOCK = 64  # 64 rows × 50k vocabulary: 13 MB of temporaries at a time


@dataclass(frozen=True)
class Predictions:
    """``top_ids [P, k]`` int64, ``top_tokens [P, k]`` str (the tokenizer's own pieces),
    ``top_probs [P, k]`` float32 (descending along each row) and ``positions [P]`` int64."""

    top_ids: np.ndarray
    top_tokens: np.ndarray
    top_probs: np.ndarray
    positions: np.ndarray

    @property
    def k(self) -> int:
        return int(self.top_ids.shape[1])

    def row_of(self, position: int) -> int | None:
        """The row holding ``position``, or None when it has no logits here."""
        rows = np.flatnonzero(self.positions == position)
        return int(rows[0]) if rows.size else None


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (the max is subtracted first, so large logits never overflow)."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def top_predictions(logits: np.ndarray, id_to_token: Callable[[int], str], k: int = DEFAULT_TOP_K,
                    positions: Iterable[int] | None = None) -> Predictions:
    """The ``k`` likeliest tokens at each of ``positions`` (default: every row of ``logits``).

    ``logits`` is ``[positions, vocab]`` (a Trace's); ``id_to_token`` names an id (a tokenizer's
    ``id_to_token``). ``k`` larger than the vocabulary is cut to it. Ties keep the lower id first.
    Raises InputError for a k that is not a positive integer, missing logits, or a bad position.
    """
    if logits is None:
        raise InputError("this model has no output head, so it makes no predictions")
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise InputError(f"logits must be [positions, vocab], not shape {list(logits.shape)}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"top-k must be a positive integer, got {k!r}")
    rows = np.arange(logits.shape[0]) if positions is None else np.asarray(list(positions), dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= logits.shape[0]):
        raise InputError(f"positions must be in 0..{logits.shape[0] - 1}, got {rows.tolist()}")
    k = min(int(k), logits.shape[1])
    top_ids = np.empty((rows.size, k), dtype=np.int64)
    top_probs = np.empty((rows.size, k), dtype=np.float32)
    for start in range(0, rows.size, _ROWS_PER_BLOCK):
        block = logits[rows[start:start + _ROWS_PER_BLOCK]]
        # Softmax is monotonic: the top k of the logits are the top k of the probabilities, so
        # only the normaliser reads the whole row (float32 terms, summed in float64).
        ids = top_ids_of(block, k)
        high = block.max(axis=1, keepdims=True)
        total = np.exp(block - high).sum(axis=1, keepdims=True, dtype=np.float64)
        chosen = np.take_along_axis(block, ids, axis=1).astype(np.float64) - high
        top_ids[start:start + len(block)] = ids
        top_probs[start:start + len(block)] = np.exp(chosen) / total
    names: dict[int, str] = {}  # one lookup per distinct id
    tokens = [[names.setdefault(i, id_to_token(i)) for i in row] for row in top_ids.tolist()]
    return Predictions(top_ids, np.array(tokens, dtype=str).reshape(rows.size, k), top_probs,
                       rows.astype(np.int64))


def top_ids_of(scores: np.ndarray, k: int) -> np.ndarray:
    """Ids of the ``k`` largest entries of each row, largest first; ties: the lower id first."""
    vocab = scores.shape[1]
    if k < vocab:
        # Everything at least as large as the k-th largest value: exactly k ids in each row unless
        # a tie straddles the cut, which the per-row path below settles by id.
        cut = np.partition(scores, vocab - k, axis=1)[:, vocab - k, None]
        keep = scores >= cut
    else:
        keep = np.ones_like(scores, dtype=bool)
    out = np.empty((len(scores), k), dtype=np.int64)
    exact = keep.sum(axis=1) == k
    if exact.any():
        ids = np.nonzero(keep[exact])[1].reshape(-1, k)  # ascending ids in each row
        order = np.argsort(-np.take_along_axis(scores[exact], ids, axis=1), axis=1, kind="stable")
        out[exact] = np.take_along_axis(ids, order, axis=1)
    for i in np.flatnonzero(~exact):
        ids = np.flatnonzero(keep[i])
        out[i] = ids[np.argsort(-scores[i, ids], kind="stable")[:k]]
    return out


def mask_positions(tokens: Iterable[str]) -> list[int]:
    """Positions whose piece is a mask token (``[MASK]`` or ``<mask>``)."""
    return [i for i, token in enumerate(tokens) if token in MASK_TOKENS]
