"""Hook points: named places in the forward pass where values are recorded, patched or ablated.

A ``HookPoint`` is a pass-through module. Its hook name is its path in ``named_modules()`` with
the ``layers`` container left out — the one naming rule: ``encoder.layers.0.self_attn.q`` is
``encoder.0.self_attn.q``. Everything that reads or changes an intermediate value does so with
torch forward hooks on these modules, registered for one run by ``interventions`` and removed
afterwards, so no forward signature ever carries a recorder, a name or an ablation.
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .errors import InputError
from .kinds import KINDS
from .pattern_stacks import PatternStacks

ELIDED = "layers"  # the ModuleList of a stack: its index alone names the layer


class HookPoint(nn.Module):
    """``forward(x) -> x``: a place to hang forward hooks on. It has no parameters.

    ``out``: where the value may be computed in place, for one recorded pass (a pattern's slot
    in its kind's stack, engine.pattern_stacks); None otherwise.
    """

    out: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def hook_name(module_path: str) -> str:
    """``encoder.layers.0.self_attn.q`` -> ``encoder.0.self_attn.q``."""
    return ".".join(part for part in module_path.split(".") if part != ELIDED)


_POINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> its hook points


def hook_points(module: nn.Module) -> dict[str, HookPoint]:
    """Every hook point under ``module``, by hook name, in module order.

    A model's module tree is fixed once built, so the walk (~0.2 ms for a small model, done
    for every decode and every recorded pass) happens once per module.
    """
    points = _POINTS.get(module)
    if points is None:
        points = {hook_name(path): child for path, child in module.named_modules()
                  if isinstance(child, HookPoint)}
        _POINTS[module] = points
    return points


def z_hook(kind: str, layer: int) -> str:
    """The per-head output ``.z`` of one attention module: ``decoder.1.cross_attn.z``."""
    return KINDS[kind].hook.format(layer) + ".z"


@dataclass
class Run:
    """What one ``interventions`` block saw: recorded values and the patches it applied."""

    values: dict[str, torch.Tensor] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)
    stacks: dict[str, torch.Tensor] = field(default_factory=dict)  # kind -> [layers, B, H, q, k]


def patch_tensor(name: str, value) -> torch.Tensor:
    """A Trace-shaped array (batch removed) as a float32 tensor with a batch dimension of 1."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.array(value, dtype=np.float32, copy=True)  # Trace arrays are read-only
    except (TypeError, ValueError) as error:
        raise InputError(f"patch {name!r}: the value is not a numeric array ({error})") from None
    return torch.from_numpy(array).unsqueeze(0)


def unknown_hook_error(name: str, known: Collection[str]) -> InputError:
    close = difflib.get_close_matches(str(name), list(known), n=3)
    examples = close or list(known)[:3]
    return InputError(f"patch {name!r}: this model has no such hook point; valid names include "
                      + ", ".join(repr(n) for n in examples))


def _record(name: str, values: dict[str, torch.Tensor]):
    def hook(_module, _args, output):
        values[name] = output.detach()

    return hook


def _patch(name: str, value: torch.Tensor, applied: set[str]):
    def hook(_module, _args, output):
        if tuple(output.shape[1:]) != tuple(value.shape[1:]):
            raise InputError(f"patch {name!r}: the value has shape {list(value.shape[1:])}, but "
                             f"this hook records shape {list(output.shape[1:])} here")
        applied.add(name)
        broadcast = any(stride == 0 for stride, size in zip(output.stride(), output.shape, strict=True)
                        if size > 1)
        if output.shape[0] != 1 or broadcast:
            return value.to(device=output.device, dtype=output.dtype).expand(output.shape)
        # The computed value's own memory layout (q is a transposed view, for one), so that
        # the ops downstream run the same kernels: patching a value with itself changes nothing.
        patched = torch.empty_strided(output.shape, output.stride(), dtype=output.dtype,
                                      device=output.device)
        return patched.copy_(value)

    return hook


def _ablate(heads: tuple[int, ...]):
    def hook(_module, _args, output):
        zeroed = output.clone()  # z is [B, heads, L, d_head]
        zeroed[:, list(heads)] = 0.0
        return zeroed

    return hook


@contextmanager
def interventions(module: nn.Module, *, record: bool | Collection[str] = False,
                  patch: Mapping[str, object] | None = None,
                  ablate: Iterable[tuple[str, int, int]] = (),
                  skip: Collection[str] = ()) -> Iterator[Run]:
    """Hooks on ``module``'s hook points for the duration of the block.

    ``record``: True for every hook point, or a collection of hook names; values land in the
    yielded ``Run.values`` (with their batch dimension). ``patch`` maps hook names to
    Trace-shaped arrays used in place of the computed value. ``ablate`` lists
    ``(kind, layer, head)`` whose ``.z`` slice is zeroed. On one hook point they apply in
    the order patch, ablate, record, so the record shows the value the forward went on with.
    ``skip``: hook names that ``record=True`` leaves out (a trace computes them on first read).
    """
    points = hook_points(module)
    tensors = {}
    for name, value in (patch or {}).items():
        if name not in points:
            raise unknown_hook_error(name, points)
        tensors[name] = patch_tensor(name, value)
    heads: dict[str, list[int]] = {}
    for kind, layer, head in ablate:
        heads.setdefault(z_hook(kind, layer), []).append(head)
    for name in heads:
        if name not in points:
            raise unknown_hook_error(name, points)
    if record is True:
        recorded: Iterable[str] = [name for name in points if name not in skip] if skip else points
    else:
        recorded = [name for name in points if name in record] if record else ()

    run = Run()
    handles = []
    config = getattr(module, "config", None)
    stacks = PatternStacks(points, config) if record is True and config is not None else None
    try:
        for name, value in tensors.items():
            handles.append(points[name].register_forward_hook(_patch(name, value, run.applied)))
        for name, listed in heads.items():
            handles.append(points[name].register_forward_hook(_ablate(tuple(sorted(set(listed))))))
        for name in recorded:
            hook = stacks.recorder(name, run.values) if stacks and name in stacks.where else \
                _record(name, run.values)
            handles.append(points[name].register_forward_hook(hook))
        if stacks is not None:
            run.stacks = stacks.stacks
        yield run
    finally:
        for handle in handles:
            handle.remove()
        if stacks is not None:
            stacks.release()


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    array = np.ascontiguousarray(tensor.float().numpy())
    array.flags.writeable = False  # views share these arrays; nobody may edit a trace
    return array


def collect(values: dict[str, torch.Tensor], kinds: tuple[str, ...], n_layers: dict[str, int],
            stacks: dict[str, torch.Tensor] | None = None):
    """Split recorded tensors into ``(attention, activations)``, dropping the batch dimension.

    ``stacks``: patterns already written into one tensor per kind (engine.pattern_stacks).
    """
    patterns = {name: t for name, t in values.items() if name.endswith(".pattern")}
    attention = {}
    for kind in kinds:
        names = [KINDS[kind].hook.format(i) + ".pattern" for i in range(n_layers[kind])]
        if stacks and kind in stacks and stacks[kind].shape[1] == 1:
            attention[kind] = _to_numpy(stacks[kind][:, 0])
        elif all(name in patterns for name in names):
            attention[kind] = _to_numpy(torch.stack([patterns[name][0] for name in names]))
    activations = {name: _to_numpy(t[0]) for name, t in values.items() if name not in patterns}
    return attention, activations
