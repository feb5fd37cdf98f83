"""Which cross-attention head aligns: each head scored against a task generator's gold alignment.

    result = evaluate_heads(model, 500)      # the translator's own held-out generator
    result.alignment                          # [layers, heads]: the share of aligned target words
    best_head(result.alignment)               # (0, 2), as training_summary_head(model) names

A target word counts as aligned by a head when that head's cross-attention row at the decoder
position that predicts the word (teacher-forced on the gold target) has its largest weight on one
of the word's gold source words (``engine.evaluate``'s definition, which the training summary's
``best_alignment_head`` comes from). The sentences are the task's held-out ones for the seed the
model was trained with, so N equal to the summary's ``eval_pairs`` re-scores the very same set.
The other head statistics come out of the same pass, as a mean over those sentences.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .corpus_file import CorpusLine
from .corpus_stats import CorpusStats, corpus_head_stats
from .errors import InputError
from .tasks import TASKS

MAX_SENTENCES = 10_000


def alignment_task(model) -> str | None:
    """The name of the model's training task when it has gold alignments ("translation", "dates")."""
    training = getattr(model, "training", None) or {}
    task = training.get("task")
    return task if task in TASKS and "cross" in model.kinds else None


def training_summary_head(model) -> tuple[int, int] | None:
    """(layer, head) the checkpoint's training summary names as the best aligner, if it does."""
    head = ((getattr(model, "training", None) or {}).get("eval") or {}).get("best_alignment_head")
    return (int(head[0]), int(head[1])) if isinstance(head, list | tuple) and len(head) == 2 else None


def best_head(alignment: np.ndarray) -> tuple[int, int]:
    """The (layer, head) with the highest accuracy (the first of equals, as the summary picks)."""
    layer, head = np.unravel_index(int(np.nanargmax(alignment)), alignment.shape)
    return int(layer), int(head)


def evaluate_heads(model, n: int, *, seed: int | None = None, kind: str | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> CorpusStats:
    """Alignment accuracy of every cross-attention head on ``n`` generated held-out sentences,
    with every head statistic (of ``kind``, or every kind) over them.

    InputError when the model's training record names no task with gold alignments.
    """
    task_name = alignment_task(model)
    if task_name is None:
        named = (getattr(model, "training", None) or {}).get("task")
        record = f"its training record names {named!r}" if named else "it has no training record"
        raise InputError(f"{model.name} was not trained on a task with gold alignments ({record}; "
                         f"those with alignments: {', '.join(sorted(TASKS))})")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SENTENCES:
        raise InputError(f"the number of sentences must be 1..{MAX_SENTENCES:,}, not {n!r}")
    seed = int(model.training.get("seed", 0)) if seed is None else seed
    pairs = TASKS[task_name].generate(n, seed, "eval", unique=True)
    lines = [CorpusLine(i + 1, pair.source_text, pair.target_text) for i, pair in enumerate(pairs)]
    kinds = None if kind is None else tuple(dict.fromkeys((kind, "cross")))  # cross: the alignment
    result = corpus_head_stats(model, lines, kinds, progress=progress, cancelled=cancelled,
                               name=f"generated {task_name} sentences, seed {seed}",
                               alignments=[pair.alignment for pair in pairs])
    result.extra.update(task=task_name, seed=seed)
    return result
