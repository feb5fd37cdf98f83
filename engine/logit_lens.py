"""The ``logit-lens`` analysis: what the model would predict from each layer's residual stream.

    lens = logit_lens(model, trace)
    lens.top_tokens[i, p]  # the likeliest piece read from row i at position p
    lens.top_probs[-1]     # the model's own output: max of softmax(trace.logits) at each position

Row 0 reads the stream entering layer 0, row i+1 the ``resid_post`` of layer i. Each goes through
the model's own output path (``output_path``): the stack's final norm when it has one, then
``Transformer.project`` (output scale, any BERT-style transform, the tied or separate head, any
final-logits bias). Unlike Ecco's lens, the final norm is applied, so the last row is the output.
One row and a block of positions at a time: 2,048 tokens × 50k vocabulary never holds more than
``_POSITIONS_PER_BLOCK`` rows of logits.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .predictions import MASK_TOKENS

_POSITIONS_PER_BLOCK = 256  # 256 × 50k vocabulary: 51 MB of float32 logits at a time
NO_HEAD = "this model has no output head, so there is nothing to read the layers with"


@dataclass(frozen=True)
class LogitLens:
    """``[rows, positions]`` arrays, rows = ``row_names`` (the residual stream read at each)."""

    top_ids: np.ndarray  # int64
    top_tokens: np.ndarray  # str: the tokenizer's own pieces
    top_probs: np.ndarray  # float32
    target_probs: np.ndarray  # float32, NaN where the input does not show the true token
    target_ids: np.ndarray  # int64 [positions], -1 where there is none
    stack: str  # "decoder", or "encoder" for an encoder-only model
    row_names: tuple[str, ...]  # the hook read by each row


def lens_stack(config) -> str:
    """The stack the lens reads: the decoder, or the encoder of an encoder-only model with a head.

    Raises InputError for a model without an output head.
    """
    if config.has_decoder:
        return "decoder"
    if not config.output_head:
        raise InputError(NO_HEAD)
    return "encoder"


def lens_targets(trace, stack: str) -> np.ndarray:
    """The true token each position's logits aim at: a decoder's next input token; for an
    encoder-only (MLM) model the input token at that position, except at a mask. -1: none shown."""
    if stack == "decoder":
        ids = list(trace.target_ids)
        return np.array(ids[1:] + [-1], dtype=np.int64) if ids else np.zeros(0, dtype=np.int64)
    return np.array([-1 if token in MASK_TOKENS else i
                     for i, token in zip(trace.source_ids, trace.source_tokens, strict=True)],
                    dtype=np.int64)


def output_path(model, stack: str) -> Callable[[np.ndarray], np.ndarray]:
    """``[pos, d]`` residual stream → ``[pos, vocab]`` float32 logits, the way the model makes its
    own: the stack's final norm (if any), then ``Transformer.project``."""
    import torch

    module = model.module
    final_norm = getattr(module, stack).final_norm

    # A run on another thread hangs its recording hooks on this same module: take turns with it,
    # one block at a time, so neither sees the other's values.
    lock = getattr(model, "_run_lock", None) or nullcontext()

    def logits(resid: np.ndarray) -> np.ndarray:
        with lock, torch.inference_mode():
            hidden = torch.from_numpy(np.array(resid, dtype=np.float32)).unsqueeze(0)
            if final_norm is not None:
                hidden = final_norm(hidden)
            return module.project(hidden)[0].float().numpy()

    return logits


def lens_rows(trace, stack: str) -> tuple[str, ...]:
    """The hooks the rows read: ``{stack}.0.resid_pre``, then each layer's ``resid_post``."""
    posts = sorted((name for name in trace.activations
                    if name.startswith(f"{stack}.") and name.endswith(".resid_post")),
                   key=lambda name: int(name.split(".")[1]))
    first = f"{stack}.0.resid_pre"
    if first not in trace.activations or not posts:
        raise InputError("this trace holds no residual stream to read (was it run with record=False?)")
    return (first, *posts)


def logit_lens(model, trace) -> LogitLens:
    """The lens of ``trace`` (run by ``model``): top token, its probability and the true token's
    probability at every row and position. Raises InputError for a model without an output head
    or a trace without recorded activations."""
    stack = lens_stack(model.config)
    if trace.logits is None:
        raise InputError(NO_HEAD)
    rows = lens_rows(trace, stack)
    project = output_path(model, stack)
    targets = lens_targets(trace, stack)
    n_pos = trace.activations[rows[0]].shape[0]
    shape = (len(rows), n_pos)
    top_ids = np.zeros(shape, dtype=np.int64)
    top_probs = np.zeros(shape, dtype=np.float32)
    target_probs = np.full(shape, np.nan, dtype=np.float32)
    shown = np.flatnonzero(targets >= 0)
    for r, name in enumerate(rows):
        resid = trace.activations[name]
        for start in range(0, n_pos, _POSITIONS_PER_BLOCK):
            stop = min(n_pos, start + _POSITIONS_PER_BLOCK)
            block = project(resid[start:stop])
            high = block.max(axis=1, keepdims=True)
            total = np.exp(block - high).sum(axis=1, dtype=np.float64)
            top_ids[r, start:stop] = block.argmax(axis=1)
            top_probs[r, start:stop] = 1.0 / total  # exp(max - max) / Σ exp(logit - max)
            here = shown[(shown >= start) & (shown < stop)]
            chosen = block[here - start, targets[here]].astype(np.float64) - high[here - start, 0]
            target_probs[r, here] = np.exp(chosen) / total[here - start]
    id_to_token = (getattr(model, "target_tokenizer", None) or model.tokenizer).id_to_token
    names: dict[int, str] = {}
    tokens = np.array([[names.setdefault(i, id_to_token(i)) for i in row] for row in top_ids.tolist()],
                      dtype=str).reshape(shape)
    return LogitLens(top_ids, tokens, top_probs, target_probs, targets, stack, rows)
