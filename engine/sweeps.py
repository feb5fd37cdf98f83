"""What the slow analyses share: a fixed-target baseline, batched edited runs, progress and cancel.

Head importance and patching run the same model many times on one input, each time with one
value changed. Here those runs go through the module as batches (one edit per batch row, by
forward hooks on the hook points), so a sweep of 16 heads costs a few forwards, not 16.
Every run keeps the baseline's token ids exactly, so nothing is re-tokenized or decoded again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from .hooks import hook_points

Progress = Callable[[int, int], None]  # (done, total), called after each batch
ShouldStop = Callable[[], bool]  # True: stop at the next batch (raises Cancelled)
Edit = Callable[[torch.Tensor], torch.Tensor]  # a hook's batched output -> the value to use

MAX_BATCH = 8  # rows per forward: enough to amortise the per-op overhead of a small model
BATCH_LOGITS = 1 << 22  # floats of logits one batch may hold (16 MB): big vocabularies batch less


class Cancelled(Exception):
    """A sweep stopped because its caller asked it to (``should_stop()`` returned True)."""


def baseline(model, source: str, target: str | None = None, *, max_new_tokens: int | None = None,
             record: bool = False):
    """The unablated run whose tokens a sweep keeps fixed: ``model.run`` as a user would call it.

    With ``target=None`` an encoder-decoder model decodes its own target (a decoder-only model
    continues the prompt by ``max_new_tokens``); every later run is teacher-forced on those ids.
    """
    return model.run(source, target, record=record, max_new_tokens=max_new_tokens)


def batch_size(model, positions: int) -> int:
    vocab = max(1, model.config.vocab_size)
    return max(1, min(MAX_BATCH, BATCH_LOGITS // max(1, positions * vocab)))


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def check_stop(should_stop: ShouldStop | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("the sweep was cancelled")


def log_probs(model, source_ids: Sequence[Sequence[int]] | None, target_ids: Sequence[int],
              rows: int, edits: dict[str, Edit] | None = None) -> np.ndarray:
    """``[rows, positions, vocab]`` float64 log-softmax of one batched forward.

    ``source_ids`` holds one id list per row, or a single list shared by all rows (or None for
    a decoder-only model); ``target_ids`` is shared. ``edits`` maps hook names to functions of
    the hook's batched output. Nothing is recorded.
    """
    config = model.config
    src = tgt = None
    if config.has_encoder:
        src = torch.tensor(source_ids if isinstance(source_ids[0], Sequence) else [source_ids])
        src = src.expand(rows, -1) if src.shape[0] == 1 else src
    if config.has_decoder:
        tgt = torch.tensor([list(target_ids)]).expand(rows, -1)
    points = hook_points(model.module)
    handles = []
    # One run at a time on a model: hooks live on the shared module (see InspectableModel.run).
    with model._run_lock, torch.inference_mode():
        try:
            for name, edit in (edits or {}).items():
                handles.append(points[name].register_forward_hook(
                    lambda _module, _args, output, edit=edit: edit(output)))
            logits = model.module(src, tgt)
        finally:
            for handle in handles:
                handle.remove()
    return torch.log_softmax(logits.double(), dim=-1).numpy()


def zero_heads(rows_heads: Sequence[tuple[int, int]]) -> Edit:
    """An edit of a ``.z`` hook ``[B, heads, L, d]``: row b's head h set to 0, for each (b, h)."""
    def edit(output: torch.Tensor) -> torch.Tensor:
        edited = output.clone()
        for row, head in rows_heads:
            edited[row, head] = 0.0
        return edited

    return edit


def replace_slices(rows_indices: Sequence[tuple[int, int]], donor: torch.Tensor) -> Edit:
    """An edit that puts ``donor[i]`` in place of ``output[b, i]``, for each (b, i).

    With ``donor`` a residual ``[pos, d]``, i is a position; with a ``.z`` ``[heads, L, d]``,
    a head.
    """
    def edit(output: torch.Tensor) -> torch.Tensor:
        edited = output.clone()
        for row, index in rows_indices:
            edited[row, index] = donor[index].to(edited.dtype)
        return edited

    return edit


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """float64 log-probabilities of a Trace's (read-only) logits ``[positions, vocab]``."""
    return torch.log_softmax(torch.tensor(np.asarray(logits), dtype=torch.float64), dim=-1).numpy()


def kl_per_position(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """KL(P‖Q) in nats at each position, from log-probabilities ``[..., vocab]``; 0·log 0 = 0."""
    p = np.exp(reference)
    with np.errstate(invalid="ignore"):  # 0 · (-inf - x) where p is 0: dropped by the where
        terms = np.where(p > 0, p * (reference - other), 0.0)
    return terms.sum(axis=-1)
