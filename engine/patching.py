"""Activation patching: which layer and position of a clean run carry what a corrupted run lacks.

Exactly DESIGN.md's ``patching``: for each layer i and position p, the clean run's
``{stack}.{i}.resid_pre`` at p replaces the corrupted run's, and the metric m is read;
``effect = (m_patched - m_corrupted) / (m_clean - m_corrupted)`` (NaN where the denominator is 0),
so 1 means "this alone restores the clean output" and 0 "it does nothing". Per head, the clean
``.z`` of that one head replaces the corrupted one at every position (``head_effect`` per kind).

m: for an encoder-decoder model, the mean over decoder positions t = 0..T-2 of
log p(target[t+1] at t), the end token included; for a decoder-only model, log p of the clean
run's top next token at the last position; for an encoder-only model with an output head, the
mean over the clean text's mask positions (every position if it has none) of log p of the clean
run's top token there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError
from .hooks import z_hook
from .predictions import mask_positions
from .readable_tokens import readable_tokens
from .sweeps import (
    Progress,
    ShouldStop,
    batch_size,
    check_stop,
    chunks,
    log_probs,
    replace_slices,
)

METRICS = {
    "encoder-decoder": "mean log p(target[t+1]) over decoder positions t = 0..T-2",
    "decoder-only": "log p(the clean run's top next token) at the last position",
    "encoder-only": "mean log p(the clean run's top token) over the [MASK] positions (or all)",
}


@dataclass(frozen=True)
class Patching:
    """``effect [layers, positions]`` float32 of ``stack``, and ``head_effect[kind]`` ``[layers, heads]``."""

    stack: str
    effect: np.ndarray
    head_effect: dict[str, np.ndarray]
    m_clean: float
    m_corrupted: float
    clean_tokens: list[str]
    corrupted_tokens: list[str]
    target_tokens: list[str]
    metric: str
    token_style: str = "plain"

    @property
    def positions(self) -> int:
        return int(self.effect.shape[1])


def patching(model, clean: str, corrupted: str, target: str | None = None, *,
             kinds: tuple[str, ...] | None = None, progress: Progress | None = None,
             should_stop: ShouldStop | None = None) -> Patching:
    """Residual-stream patching per layer × position, then per head of each attention kind.

    The target is ``target`` or the one the model decodes from ``clean`` (a decoder-only model
    reads its prompts alone). Raises InputError when the two texts tokenize to different
    lengths, showing both tokenizations. ``progress(done, total)`` follows each batch;
    ``should_stop()`` returning True raises ``engine.sweeps.Cancelled``.
    """
    config = model.config
    if config.architecture == "encoder-only" and not config.output_head:
        raise InputError(f"{model.name} has no output head: patching has no output to measure")
    prompt_only = 0 if config.architecture == "decoder-only" else None
    if config.architecture != "encoder-decoder":
        target = None  # a single stack reads its one text
    clean_run = model.run(clean, target, max_new_tokens=prompt_only)
    stack = "encoder" if config.has_encoder else "decoder"
    clean_tokens = clean_run.tokens("source" if stack == "encoder" else "target")
    corrupted_ids, corrupted_tokens = model._encode_source(corrupted)  # checked as run() checks it
    if stack == "decoder":
        corrupted_tokens = model.target_tokenizer.tokens_of(corrupted_ids)
    if len(clean_tokens) != len(corrupted_tokens):
        style = clean_run.token_style
        raise InputError(
            "the clean and corrupted texts must have the same number of tokens, so that each "
            f"position can be patched: clean has {len(clean_tokens)} "
            f"({' | '.join(readable_tokens(clean_tokens, style))}), corrupted has "
            f"{len(corrupted_tokens)} ({' | '.join(readable_tokens(corrupted_tokens, style))})")
    # Rows: (source ids, target ids). A decoder-only prompt is its own target.
    inputs = {"clean": (clean_run.source_ids, clean_run.target_ids),
              "corrupted": (corrupted_ids, clean_run.target_ids) if config.has_encoder
              else (None, corrupted_ids)}
    if not config.has_decoder:
        inputs["corrupted"] = (corrupted_ids, [])
    target_ids = clean_run.target_ids

    def metric_of(logp: np.ndarray) -> np.ndarray:  # logp [rows, positions, vocab] -> m [rows]
        if config.architecture == "encoder-decoder":
            steps = np.arange(len(target_ids) - 1)
            return logp[:, steps, np.asarray(target_ids[1:])].mean(axis=-1)
        if config.architecture == "decoder-only":
            return logp[:, -1, clean_top[-1]]
        return logp[:, read, clean_top[read]].mean(axis=-1)

    def run(rows: int, edits=None, which: str = "corrupted") -> np.ndarray:
        source_ids, row_target = inputs[which]
        return log_probs(model, source_ids, row_target, rows, edits)

    clean_logp = run(1, which="clean")
    clean_top = clean_logp[0].argmax(axis=-1)
    # An MLM is read where it predicts: the clean text's masks (else every position, whose own
    # token would otherwise dominate m wherever the two texts differ).
    read = np.asarray(mask_positions(clean_tokens) or range(len(clean_top)))
    m_clean = float(metric_of(clean_logp)[0])
    m_corrupted = float(metric_of(run(1))[0])
    denominator = m_clean - m_corrupted

    kinds = tuple(model.kinds if kinds is None else kinds)
    n_layers = model.n_layers(stack)
    positions = len(clean_tokens)
    jobs = [("resid", layer, p) for layer in range(n_layers) for p in range(positions)]
    jobs += [(kind, layer, head) for kind in kinds for layer in range(model.n_layers(kind))
             for head in range(config.n_heads)]
    values = {}
    size = batch_size(model, clean_logp.shape[1])
    done = 0
    for batch in chunks(jobs, size):
        check_stop(should_stop)
        edits: dict[str, list[tuple[int, int]]] = {}
        for row, (what, layer, index) in enumerate(batch):
            name = f"{stack}.{layer}.resid_pre" if what == "resid" else z_hook(what, layer)
            edits.setdefault(name, []).append((row, index))
        donors = {name: torch.from_numpy(np.array(clean_run.activations[name])) for name in edits}
        m = metric_of(run(len(batch), {name: replace_slices(rows, donors[name])
                                       for name, rows in edits.items()}))
        for row, job in enumerate(batch):
            values[job] = float(m[row])
        done += len(batch)
        if progress is not None:
            progress(done, len(jobs))

    def normalised(m_patched: float) -> float:
        return (m_patched - m_corrupted) / denominator if denominator != 0 else float("nan")

    effect = np.array([[normalised(values[("resid", layer, p)]) for p in range(positions)]
                       for layer in range(n_layers)], dtype=np.float32).reshape(n_layers, positions)
    head_effect = {kind: np.array([[normalised(values[(kind, layer, head)])
                                    for head in range(config.n_heads)]
                                   for layer in range(model.n_layers(kind))], dtype=np.float32)
                   for kind in kinds}
    return Patching(stack, effect, head_effect, m_clean, m_corrupted, list(clean_tokens),
                    list(corrupted_tokens), list(clean_run.target_tokens),
                    METRICS[config.architecture], clean_run.token_style)
