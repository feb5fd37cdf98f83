"""Compare two runs: one attention selection of two inputs or two checkpoints, and b − a.

    trace_b = second_run(model, trace_a, "the cat sleeps", source_b="the dog sleeps")
    arrays = compare_traces(trace_a, trace_b, "cross", 0, "mean")  # matrix_a, matrix_b, difference

DESIGN.md "Analyses", compare: both runs use the given target, or else the target run a decoded,
so the decoder positions line up; the two matrices must have equal shapes. Numpy only here (the
runs go through ``model.run``); no Qt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

import numpy as np

from .errors import InputError
from .readable_tokens import readable_tokens

ARRAYS = ("matrix_a", "matrix_b", "difference")


def architecture_difference(model_a, model_b) -> str:
    """"" when the two models have one architecture, else the first fields that differ."""
    a, b = asdict(model_a.config), asdict(model_b.config)
    differ = [f"{name} {a[name]!r} vs {b.get(name)!r}" for name in a if a[name] != b.get(name)]
    return ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")


def shared_target(model_a, trace_a, source_a: str, target: str | None) -> str | None:
    """The target text both runs use: ``target``, or else what run a decoded (None: no decoder)."""
    if target is not None:
        return target
    architecture = model_a.config.architecture
    if architecture == "encoder-decoder":
        text = trace_a.output_text
        start = model_a.config.decoder_start_token_id
        if [start, *model_a.target_tokenizer.encode(text).ids] != list(trace_a.target_ids):
            # A decode cut off by the length limit has no end token, but its text reads back
            # with one: run b would be a token longer.
            raise InputError(f"run a's decoded target “{text}” does not read back as the same "
                             "tokens (its decoding stopped without an end token): give the target "
                             "text, so that both runs use it")
        return text
    if architecture == "decoder-only":
        # The continuation after a's prompt; b continues its own prompt with the same tokens.
        prompt = len(model_a.run(source_a, max_new_tokens=0, record=False).target_ids)
        return model_a.target_tokenizer.decode(trace_a.target_ids[prompt:])
    return None


def second_run(model_a, trace_a, source_a: str, *, source_b: str | None = None, model_b=None,
               target: str | None = None, ablate: Iterable = ()):
    """Run b: ``model_b`` (default ``model_a``) on ``source_b`` (default ``source_a``), with the
    target of ``shared_target`` and the same ablated heads as run a.

    Raises InputError when nothing differs from run a, or the architectures differ.
    """
    model_b = model_a if model_b is None else model_b
    source_b = source_a if source_b is None or not source_b.strip() else source_b
    if model_b is model_a and source_b == source_a:
        raise InputError("compare needs a second input or a second checkpoint")
    if model_b is not model_a:
        differ = architecture_difference(model_a, model_b)
        if differ:
            raise InputError(f"the second checkpoint ({model_b.name}) is not the architecture of "
                             f"{model_a.name}: {differ}")
    text = shared_target(model_a, trace_a, source_a, target)
    budget = 0 if model_b.config.architecture == "decoder-only" and not text else None
    return model_b.run(source_b, text or None, ablate=ablate, max_new_tokens=budget)


def compare_traces(trace_a, trace_b, kind: str, layer: int, head: int | str) -> dict[str, np.ndarray]:
    """``matrix_a``, ``matrix_b`` and ``difference`` (b − a), float32, of one selection.

    Raises InputError (one line) naming both shapes and both tokenizations when they differ, and
    ValueError for a kind, layer or head that is not there.
    """
    a = trace_a.matrix(kind, layer, head)
    b = trace_b.matrix(kind, layer, head)
    if a.shape != b.shape:
        raise InputError(f"compare needs equal shapes: run a gives {kind} {_shape(a)}, run b "
                         f"{_shape(b)} — a: {_tokens(trace_a)} · b: {_tokens(trace_b)}")
    difference = np.subtract(b, a, dtype=np.float32)
    difference.flags.writeable = False
    return {"matrix_a": a, "matrix_b": b, "difference": difference}


def _shape(matrix: np.ndarray) -> str:
    return "×".join(str(n) for n in matrix.shape)


def _tokens(trace) -> str:
    """Both token lists of a run as a person reads them, "source | target"."""
    sides = [" ".join(readable_tokens(tokens, trace.token_style))
             for tokens in (trace.source_tokens, trace.target_tokens) if tokens]
    return " | ".join(sides) or "(no tokens)"
