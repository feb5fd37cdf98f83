"""The recorded pass of a trace that fits in memory: every hook point kept, but for three
values computed on first read (engine.on_first_read), each exactly as the pass computes it.

- ``.scores`` (``[heads, q, k]``, as large as the patterns: 151 MB of a Marian-size trace at
  512 tokens) are recomputed by replaying their layer from its recorded input, with the run's
  masks, ablations and patches (engine.lean_recording.LayerReplay). Views read the masks from
  ``Trace.masks`` instead.
- The logits are the vocabulary product of the output path's last recorded tensor, computed by
  the same call the pass would make (Transformer.vocabulary), so they are bit-identical to
  computing them in the pass; the predicted tokens are their argmax.
- Keeping neither also spares the pass the fresh memory pages they would fill.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from .attention_masks import run_masks
from .hooks import _to_numpy, collect, hook_points, interventions
from .kinds import KINDS
from .lazy_arrays import LazyArray
from .lean_recording import LayerReplay, _layer_of
from .on_first_read import Pending

SCORES = ".scores"


@dataclass
class FullPass:
    """What the recorded (or unrecorded) pass returns to InspectableModel.run."""

    attention: dict
    activations: dict
    logits: object  # a Pending array, or None without an output head
    predicted: object  # a Pending list of predicted token ids, or []
    masks: dict
    applied: set[str] = field(default_factory=set)


def full_forward(model, source: torch.Tensor | None, target: torch.Tensor | None, ablate, patch,
                 record: bool, watch=None) -> FullPass:
    """One pass under the run's interventions; ``watch`` surrounds it (progress hooks)."""
    module, config = model.module, model.config
    points = hook_points(module)
    skip = [name for name in points if name.endswith(SCORES)] if record else ()
    memory = memory_mask = None
    with watch or nullcontext(), torch.inference_mode(), \
            interventions(module, record=record, patch=patch, ablate=ablate, skip=skip) as run:
        if module.encoder is not None:
            memory, memory_mask = module.encode(source)
        hidden = memory if module.decoder is None else module.decode(target, memory, memory_mask)
        ready = None
        if module.decoder is not None or config.output_head:
            ready = module.prepare_output(hidden)  # its hook points (an MLM transform) record here
    lengths = {"encoder": 0 if source is None else source.shape[1],
               "decoder": 0 if target is None else target.shape[1]}
    attention, activations = {}, {}
    if record:
        n_layers = {kind: model.n_layers(kind) for kind in model.kinds}
        attention, activations = collect(run.values, model.kinds, n_layers, run.stacks)
        activations = _with_scores(model, run.values, activations, attention, memory, memory_mask,
                                   ablate, patch)
    logits, predicted = None, []
    if ready is not None:
        logits, predicted = _deferred_logits(model, ready)
    return FullPass(attention, activations, logits, predicted, run_masks(module, lengths, memory_mask),
                    set(run.applied))


def _deferred_logits(model, ready: torch.Tensor):
    def compute() -> np.ndarray:
        with model._run_lock, torch.inference_mode():
            return _to_numpy(model.module.vocabulary(ready)[0])

    logits = Pending(compute)
    return logits, Pending(lambda: logits.value().argmax(axis=-1).tolist())


def _with_scores(model, values: dict, activations: dict, attention: dict, memory, memory_mask,
                 ablate, patch) -> dict:
    """The activations with each layer's ``.scores`` as a replayed array, where the pass would
    have recorded it: just before its module's ``.z`` (the pattern lives in ``attention``)."""
    inputs = {_layer_of(name): tensor for name, tensor in values.items()
              if name.endswith(".resid_pre") and _layer_of(name) is not None}
    replay = LayerReplay(model, inputs, memory, memory_mask, ablate, patch, only=SCORES)
    shapes = {}
    for kind, stack in attention.items():
        for layer in range(stack.shape[0]):
            shapes[KINDS[kind].hook.format(layer) + SCORES] = stack.shape[1:]
    ordered = {}
    for name, value in activations.items():
        scores = name[:-len(".z")] + SCORES if name.endswith(".z") else None
        if scores in shapes:
            ordered[scores] = LazyArray(lambda scores=scores: replay.value(scores), shapes[scores])
        ordered[name] = value
    return ordered
