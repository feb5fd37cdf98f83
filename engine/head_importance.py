"""Head importance: each head of a kind ablated alone, and how far the output moves (DESIGN.md).

``kl[layer, head]`` is the mean over positions with logits of KL(P_full ‖ P_ablated) of the
next-token distributions, in nats; ``argmax_changed[layer, head]`` is the share of those positions
whose top token changes. The target stays the unablated run's, so every run reads the same
positions. Numpy in, numpy out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .hooks import z_hook
from .sweeps import (
    Progress,
    ShouldStop,
    baseline,
    batch_size,
    check_stop,
    chunks,
    kl_per_position,
    log_probs,
    log_softmax,
    zero_heads,
)


@dataclass(frozen=True)
class HeadImportance:
    """``kl`` and ``argmax_changed`` ``[layers, heads]`` float32 for one kind, and what was run."""

    kind: str
    kl: np.ndarray
    argmax_changed: np.ndarray
    positions: int  # positions with logits that the means are over
    source_tokens: list[str]
    target_tokens: list[str]

    def ranking(self, by: str = "kl") -> list[tuple[int, int, float]]:
        """``(layer, head, value)``, most important first, by ``"kl"`` or ``"argmax_changed"``."""
        values = self.kl if by == "kl" else self.argmax_changed
        order = np.argsort(-values, axis=None, kind="stable")
        layers, heads = np.unravel_index(order, values.shape)
        return [(int(layer), int(head), float(values[layer, head]))
                for layer, head in zip(layers, heads, strict=True)]


def head_importance(model, source: str, kind: str, target: str | None = None, *,
                    max_new_tokens: int | None = None, progress: Progress | None = None,
                    should_stop: ShouldStop | None = None, full=None) -> HeadImportance:
    """Ablate every head of ``kind`` alone on ``source`` (and the unablated run's target).

    ``progress(done, total)`` is called after each batch of ablated runs; ``should_stop()``
    returning True raises ``engine.sweeps.Cancelled`` before the next batch. ``full`` may be
    ``engine.sweeps.baseline(model, source, target, ...)`` already run: every kind of one input
    shares it (a decode costs more than the ablated runs of a small model).
    """
    if kind not in model.kinds:
        raise InputError(f"kind {kind!r} is not in {model.name}; it has {', '.join(model.kinds)}")
    if full is None:
        full = baseline(model, source, target, max_new_tokens=max_new_tokens)
    if full.logits is None:
        raise InputError(f"{model.name} has no output head: there are no next-token "
                         "distributions to compare")
    reference = log_softmax(full.logits)
    top = reference.argmax(axis=-1)
    n_layers, n_heads = model.n_layers(kind), model.config.n_heads
    heads = [(layer, head) for layer in range(n_layers) for head in range(n_heads)]
    kl = np.zeros((n_layers, n_heads), dtype=np.float64)
    changed = np.zeros((n_layers, n_heads), dtype=np.float64)
    size = batch_size(model, reference.shape[0])
    done = 0
    for batch in chunks(heads, size):
        check_stop(should_stop)
        edits: dict[str, list[tuple[int, int]]] = {}
        for row, (layer, head) in enumerate(batch):
            edits.setdefault(z_hook(kind, layer), []).append((row, head))
        ablated = log_probs(model, full.source_ids, full.target_ids, len(batch),
                            {name: zero_heads(rows) for name, rows in edits.items()})
        for row, (layer, head) in enumerate(batch):
            kl[layer, head] = kl_per_position(reference, ablated[row]).mean()
            changed[layer, head] = np.mean(ablated[row].argmax(axis=-1) != top)
        done += len(batch)
        if progress is not None:
            progress(done, len(heads))
    return HeadImportance(kind, kl.astype(np.float32), changed.astype(np.float32),
                          int(reference.shape[0]), list(full.source_tokens), list(full.target_tokens))
