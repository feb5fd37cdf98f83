"""Head statistics: one number per head that says what kind of pattern it draws (numpy only).

    stats = head_stats(trace, "decoder")   # {"entropy": [layers, heads], ..., "induction": ...}

Each statistic is a mean over query rows (DESIGN.md "Analyses", head-stats):

- ``entropy``: -sum a ln a in nats (0 ln 0 = 0); ``max_weight``: the row maximum;
  ``first_token``: the weight on key 0;
- self-attention only (NaN for cross-attention): ``previous_token`` a[i, i-1] over i >= 1,
  ``diagonal`` a[i, i], ``mean_distance`` sum_j a[i, j] |i - j|, and ``induction``: for each
  query i whose token appeared earlier, with p its latest earlier position and p + 1 < i, the
  weight a[i, p + 1] (NaN when no query qualifies).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STATISTICS = ("entropy", "max_weight", "first_token", "previous_token", "diagonal", "mean_distance",
              "induction")
SELF_ONLY = ("previous_token", "diagonal", "mean_distance", "induction")


def head_stats(trace, kind: str) -> dict[str, np.ndarray]:
    """The statistics of every head of ``kind`` in ``trace``: float32 arrays ``[layers, heads]``.

    Raises ValueError when the trace has no attention of that kind.
    """
    if kind not in trace.attention:
        raise ValueError(f"kind {kind!r} is not in this trace; it has {', '.join(trace.attention)}")
    self_attention = kind != "cross"
    stack, tokens = trace.attention[kind], trace.query_tokens(kind) if self_attention else None
    if isinstance(stack, np.ndarray):
        return pattern_stats(stack, tokens, self_attention=self_attention)
    # A lean trace replays a layer when read: one at a time, the float64 copy is one layer's,
    # not the whole stack's (15 GB for a 0.6B model at 2,048 tokens).
    layers = [pattern_stats(stack[i][None], tokens, self_attention=self_attention)
              for i in range(len(stack))]
    return {name: np.concatenate([layer[name] for layer in layers]) for name in STATISTICS}


def pattern_stats(attention: np.ndarray, tokens: Sequence | None = None, *,
                  self_attention: bool = True) -> dict[str, np.ndarray]:
    """The statistics of ``attention`` ``[layers, heads, queries, keys]``, rows summing to 1.

    ``tokens`` (one per query position, compared with ``==``) is needed for ``induction`` only;
    without it ``induction`` is NaN.
    """
    a = np.asarray(attention, dtype=np.float64)
    if a.ndim != 4:
        raise ValueError(f"attention must be [layers, heads, queries, keys], got shape {a.shape}")
    layers, heads, n_queries, n_keys = a.shape
    if n_queries == 0 or n_keys == 0:
        raise ValueError(f"attention has no query rows or no keys (shape {a.shape})")
    logs = np.log(np.where(a > 0, a, 1.0))  # 0 ln 0 = 0 without a warning
    stats = {
        "entropy": -(a * logs).sum(axis=-1).mean(axis=-1),
        "max_weight": a.max(axis=-1).mean(axis=-1),
        "first_token": a[..., 0].mean(axis=-1),
    }
    nan = np.full((layers, heads), np.nan)
    if not self_attention:
        stats.update(dict.fromkeys(SELF_ONLY, nan))
        return {name: stats[name].astype(np.float32) for name in STATISTICS}
    if n_queries != n_keys:
        raise ValueError(f"self-attention must be square, got {n_queries} queries and {n_keys} keys")
    if tokens is not None and len(tokens) != n_queries:
        raise ValueError(f"{len(tokens)} tokens for {n_queries} query positions")
    rows = np.arange(n_queries)
    stats["previous_token"] = a[..., rows[1:], rows[1:] - 1].mean(axis=-1) if n_queries > 1 else nan
    stats["diagonal"] = a[..., rows, rows].mean(axis=-1)
    distance = np.abs(rows[:, None] - rows[None, :])
    stats["mean_distance"] = (a * distance).sum(axis=-1).mean(axis=-1)
    queries, keys = induction_targets(tokens) if tokens is not None else ([], [])
    stats["induction"] = a[..., queries, keys].mean(axis=-1) if queries else nan
    return {name: stats[name].astype(np.float32) for name in STATISTICS}


def induction_targets(tokens: Sequence) -> tuple[list[int], list[int]]:
    """(queries i, keys p + 1): i's token last appeared at p, and p + 1 < i."""
    last_seen: dict = {}
    queries, keys = [], []
    for i, token in enumerate(tokens):
        p = last_seen.get(token)
        if p is not None and p + 1 < i:
            queries.append(i)
            keys.append(p + 1)
        last_seen[token] = i
    return queries, keys
