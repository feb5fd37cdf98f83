"""Lean recording: a trace too large to keep whole keeps the residual stream and recomputes the
rest of a layer exactly when it is read.

A layer's every value (q, k, v, scores, patterns, z, norms, FFN) is a function of its input, the
residual ``resid_pre``, and of what the run fixed: the masks, T5's position bias, the encoder
output for cross-attention, and the run's ablations and patches. So the run records the residual
stream between sublayers, every norm's mean and std, and the values outside the layers
(embeddings, final norms), and reading
any other hook of layer i replays layer i alone, through the same module code on the same
tensors, with the same interventions: the values are the ones the full pass computes (tests
compare them bit for bit). The last two layers read are cached, so switching heads within a
layer costs nothing and switching layers costs one layer's forward.

Logits over a large vocabulary (152k at 2,048 tokens is 1.2 GB) are projected in blocks of
rows: the run keeps each position's argmax and the final hidden states, and a block is
projected again when read. Used only when the full trace would exceed the memory budget
(engine.memory_guard); small models keep plain arrays. A lean trace reads the live model, so it
is valid while the model's weights stay as they were at the run.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from .attention_masks import run_masks
from .hooks import _to_numpy, hook_points, interventions
from .kinds import KINDS
from .lazy_arrays import LayerStack, LazyArray

LAYER_CACHE = 2  # layers whose recomputed values are kept
LOGIT_BLOCK = 1 << 24  # floats of logits projected at once (64 MB)
KEPT_IN_LAYERS = (".resid_pre", ".resid_mid", ".resid_cross", ".resid_post", ".mean", ".std")


@dataclass
class LeanPass:
    """What the lean run returns to InspectableModel.run."""

    attention: dict
    activations: dict
    logits: object  # a RowBlocks, or None without an output head
    predicted_ids: list[int]
    applied: set[str] = field(default_factory=set)
    masks: dict = field(default_factory=dict)  # engine.attention_masks.run_masks


def _layer_of(name: str) -> tuple[str, int] | None:
    parts = name.split(".")
    if len(parts) > 2 and parts[0] in ("encoder", "decoder") and parts[1].isdigit():
        return parts[0], int(parts[1])
    return None


class _AllRecorded(Exception):
    """A replay that records a few values (``only``) has them all: the rest of the layer (the
    softmax, the FFN) is not computed."""


def _stop_when_all(names: list[str], values: dict):
    def hook(_module, _args, _output):
        if all(name in values for name in names):
            raise _AllRecorded

    return hook


class LayerReplay:
    """Recomputes one layer's hook values from its recorded input, caching the last few."""

    def __init__(self, model, inputs: dict, memory, memory_mask, ablate, patch, only: str = ""):
        """``only``: replay records just the hook names ending so (a full trace's ``.scores``)."""
        self.model = model
        self.inputs = inputs  # (stack, layer) -> resid_pre tensor [1, L, d]
        self.memory, self.memory_mask = memory, memory_mask
        self.ablate, self.patch = ablate, patch
        self.only = only
        self.names: dict[tuple[str, int], list[str]] = {}
        for name in hook_points(model.module):
            where = _layer_of(name)
            if where is not None and name.endswith(only):
                self.names.setdefault(where, []).append(name)
        self._cache: OrderedDict = OrderedDict()

    def values(self, stack: str, layer: int) -> dict[str, np.ndarray]:
        # The cache is shared by every thread that reads the trace (a view, an export): it is
        # read and trimmed under the model's run lock, which the replay itself takes anyway.
        with self.model._run_lock:
            return self._values(stack, layer)

    def is_cached(self, stack: str, layer: int) -> bool:
        """Whether the layer's values are held, so that reading them replays nothing."""
        with self.model._run_lock:
            return (stack, layer) in self._cache

    def _values(self, stack: str, layer: int) -> dict[str, np.ndarray]:
        key = (stack, layer)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        module = self.model.module
        part = getattr(module, stack)
        x = self.inputs[key]
        length = x.shape[1]
        key_mask = self.memory_mask if stack == "encoder" else None
        mask = part.self_attention_mask(key_mask, length, self.model.config.window_of(layer))
        bias = part.relative_bias(length, length) if part.relative_bias is not None else None
        cross = ()
        if stack == "decoder":  # as Transformer.decode passes them
            cross_mask = None
            if self.memory_mask is not None and not bool(self.memory_mask.all()):
                cross_mask = self.memory_mask[:, None, None, :]
            cross = (self.memory, cross_mask)
        names = self.names[key]
        with torch.inference_mode(), interventions(
                module, record=names, patch=self.patch, ablate=self.ablate) as run:
            stops = [hook_points(module)[name].register_forward_hook(_stop_when_all(names, run.values))
                     for name in names] if self.only else []
            try:
                part.layers[layer](x, mask, bias, *cross)
            except _AllRecorded:
                pass
            finally:
                for stop in stops:
                    stop.remove()
        values = {name: _to_numpy(tensor[0]) for name, tensor in run.values.items()}
        self._cache[key] = values
        while len(self._cache) > LAYER_CACHE:
            self._cache.popitem(last=False)
        return values

    def value(self, name: str) -> np.ndarray:
        return self.values(*_layer_of(name))[name]


class RowBlocks(LazyArray):
    """Logits ``[positions, vocab]`` projected a block of rows at a time when read."""

    def __init__(self, module, hidden: torch.Tensor, vocab: int):
        self.module, self.hidden = module, hidden
        self.shape = (hidden.shape[1], vocab)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2
        self.rows = max(1, LOGIT_BLOCK // vocab)
        self._blocks: OrderedDict = OrderedDict()
        super().__init__(self._whole)

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * 4

    def block(self, index: int) -> np.ndarray:
        if index not in self._blocks:
            start = index * self.rows
            with torch.inference_mode():
                logits = self.module.project(self.hidden[:, start:start + self.rows])
            array = _to_numpy(logits[0])
            self._blocks[index] = array
            while len(self._blocks) > 2:
                self._blocks.popitem(last=False)
        return self._blocks[index]

    def _whole(self) -> np.ndarray:
        blocks = range(-(-self.shape[0] // self.rows))
        whole = np.concatenate([self.block(i) for i in blocks])
        whole.flags.writeable = False
        return whole

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index):
        first, rest = (index[0], index[1:]) if isinstance(index, tuple) else (index, ())
        if isinstance(first, int | np.integer) and -self.shape[0] <= first < self.shape[0]:
            row = int(first) % self.shape[0]
            values = self.block(row // self.rows)[row % self.rows]
            return values[rest] if rest else values
        return self._whole()[index]


def _predicted(module, hidden: torch.Tensor, rows: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, hidden.shape[1], rows):
        ids += module.project(hidden[:, start:start + rows])[0].argmax(dim=-1).tolist()
    return ids


def lean_forward(model, source: torch.Tensor | None, target: torch.Tensor | None,
                 ablate, patch, watch=None) -> LeanPass:
    """One pass recording the residual stream and the values outside the layers; ``watch``
    (a context manager: the run's progress hooks) surrounds that pass alone."""
    module, config = model.module, model.config
    # Small values the GUI reads across all layers at once (the depth plots: the residual
    # stream's norms, every norm's mean and std) are kept, so that they need no replay.
    kept = [name for name in hook_points(module) if _layer_of(name) is None
            or name.endswith(KEPT_IN_LAYERS)]
    memory = memory_mask = None
    with watch or nullcontext(), torch.inference_mode(), \
            interventions(module, record=kept, patch=patch, ablate=ablate) as run:
        if module.encoder is not None:
            memory, memory_mask = module.encode(source)
        hidden = memory if module.decoder is None else module.decode(target, memory, memory_mask)
        logits, predicted = None, []
        if module.decoder is not None or config.output_head:
            if module.output_transform is not None:  # its hooks record one pass: project once
                whole = module.project(hidden)
                predicted = whole[0].argmax(dim=-1).tolist()
                logits = _to_numpy(whole[0])
            else:
                logits = RowBlocks(module, hidden, config.vocab_size)
                predicted = _predicted(module, hidden, logits.rows)
    inputs = {_layer_of(name): run.values[name] for name in kept if name.endswith(".resid_pre")
              and _layer_of(name) is not None}
    replay = LayerReplay(model, inputs, memory, memory_mask, ablate, patch)
    activations = {name: _to_numpy(run.values[name][0]) for name in kept if name in run.values}
    shapes = _shapes(replay)
    for (stack, layer), names in replay.names.items():
        for name in names:
            if name not in activations and not name.endswith(".pattern"):
                relative = name[len(f"{stack}.{layer}."):]
                activations[name] = LazyArray(lambda name=name: replay.value(name),
                                              shapes[stack][relative])
    lengths = {"encoder": 0 if source is None else source.shape[1],
               "decoder": 0 if target is None else target.shape[1]}
    attention = {}
    for kind in config.kinds:
        spec = KINDS[kind]
        stack = spec.hook.split(".")[0]
        layers = model.n_layers(kind)
        shape = (layers, config.n_heads, lengths[_side(spec.queries)], lengths[_side(spec.keys)])
        attention[kind] = LayerStack(shape, lambda i, spec=spec, stack=stack:
                                     replay.values(stack, i)[spec.hook.format(i) + ".pattern"],
                                     lambda i, stack=stack: replay.is_cached(stack, i))
    return LeanPass(attention, activations, logits, predicted, set(run.applied),
                    run_masks(module, lengths, memory_mask))


def _shapes(replay: LayerReplay) -> dict[str, dict[str, tuple[int, ...]]]:
    """Each stack's hook shapes by name within a layer, from replaying its first layers (layer 0
    may lack a norm that the others have: ModernBERT's), so that ``.shape`` needs no replay."""
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    for (stack, layer), names in replay.names.items():
        known = shapes.setdefault(stack, {})
        prefix = f"{stack}.{layer}."
        if any(name[len(prefix):] not in known for name in names):
            for name, array in replay.values(stack, layer).items():
                known[name[len(prefix):]] = array.shape
    return shapes


def _side(side: str) -> str:
    return "encoder" if side == "source" else "decoder"

