"""The slow analyses (head importance, patching): what to run for a state, and their results.

No Qt here. A sweep is asked for by ``sweep_request(state, name)``: the inputs it reads from the
state (the key) and the engine call. The window runs it on a worker and stores the result in
``state.sweeps``; ``python main.py export`` runs it at once. A stored result counts only while
its key is the state's current one, so a figure never shows another input's numbers.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

HEAD_IMPORTANCE, PATCHING = "head-importance", "patching"
SWEEPS = (HEAD_IMPORTANCE, PATCHING)


@dataclass(frozen=True)
class SweepRequest:
    """``run(progress, should_stop)`` computes the result for ``key``; ``what`` names it for people."""

    name: str
    key: tuple
    run: Callable
    what: str


@dataclass(frozen=True)
class Stored:
    model: weakref.ref
    key: tuple
    result: object


def _store(state) -> dict:
    core = getattr(state, "core", state)
    return core.__dict__.setdefault("sweeps", {})


def patching_inputs(state) -> tuple[str, str, str | None]:
    """(clean, corrupted, target): the clean box, or else the source box; the target box or None."""
    clean = state.patch_clean.strip() or state.source_text.strip()
    target = state.target_text.strip() or None
    if state.model is not None and state.model.config.architecture != "encoder-decoder":
        target = None
    return clean, state.patch_corrupted.strip(), target


def sweep_request(state, name: str) -> SweepRequest:
    """What the sweep ``name`` would run now. ValueError says what is missing."""
    model = state.model
    if model is None:
        raise ValueError("open a model first")
    budget = state.max_new_tokens if model.config.architecture == "decoder-only" else None
    if name == HEAD_IMPORTANCE:
        source, target = state.trace_inputs if state.trace is not None else (state.source_text, "")
        if not source.strip():
            raise ValueError("run a sentence first: head importance ablates heads on its input")
        kinds = tuple(model.kinds)
        key = (id(model), source, target, budget, kinds)

        def run(progress=None, should_stop=None):
            return importance_of_every_kind(model, source, target or None, budget, progress, should_stop)

        return SweepRequest(name, key, run, f"ablating each of {model.name}'s heads alone")
    if name == PATCHING:
        from engine.patching import patching

        clean, corrupted, target = patching_inputs(state)
        if not clean:
            raise ValueError("type a clean text (or a source sentence)")
        if not corrupted:
            raise ValueError("type a corrupted text: the same sentence with the detail to trace changed")
        key = (id(model), clean, corrupted, target)

        def run(progress=None, should_stop=None):
            return patching(model, clean, corrupted, target, progress=progress, should_stop=should_stop)

        return SweepRequest(name, key, run, "patching the clean run into the corrupted one")
    raise ValueError(f"unknown sweep {name!r}; sweeps: {', '.join(SWEEPS)}")


def importance_of_every_kind(model, source: str, target: str | None, budget, progress=None,
                             should_stop=None) -> dict:
    """Head importance of every kind, on one unablated run: switching kinds afterwards is instant."""
    from engine.head_importance import head_importance
    from engine.sweeps import baseline

    full = baseline(model, source, target, max_new_tokens=budget)
    total = sum(model.n_layers(kind) for kind in model.kinds) * model.config.n_heads
    results, done = {}, 0
    for kind in model.kinds:
        results[kind] = head_importance(
            model, source, kind, target, max_new_tokens=budget, should_stop=should_stop, full=full,
            progress=None if progress is None else lambda d, _t, base=done: progress(base + d, total))
        done += model.n_layers(kind) * model.config.n_heads
    return results


def stored_result(state, name: str):
    """The stored result of ``name`` if it was computed for the state's current inputs, else None."""
    entry = _store(state).get(name)
    if entry is None or entry.model() is not state.model:
        return None
    try:
        key = sweep_request(state, name).key
    except ValueError:
        return None
    return entry.result if entry.key == key else None


def store_result(state, name: str, key: tuple, result) -> None:
    _store(state)[name] = Stored(weakref.ref(state.model), key, result)


def run_now(state, name: str):
    """Compute ``name`` for the state on this thread and store it (the CLI; tests)."""
    request = sweep_request(state, name)
    result = request.run()
    store_result(state, name, request.key, result)
    return result


def required_result(state, name: str):
    """The stored result, or ValueError saying the sweep has not run for this input."""
    if state.trace is None:
        raise ValueError("nothing to export yet: run a sentence first")
    result = stored_result(state, name)
    if result is None:
        sweep_request(state, name)  # names a missing input first
        raise ValueError(f"the {name} sweep has not run for this input yet: run it in its pane")
    return result
