"""Building a Transformer from tensors read from a file, checked before anything is allocated.

The config's module is first built on torch's "meta" device, which holds shapes and no data,
so a config that asks for a 10⁹-wide table costs nothing until its shapes have been compared
with the file's tensors; the file's own tensors then become the parameters (no copy, no
random initialisation). Every token id a tokenizer can produce is checked against the token
table, so no run can index past it.
"""

from __future__ import annotations

import itertools
import re

import torch
from torch.overrides import TorchFunctionMode

from .config import ModelConfig
from .errors import CheckpointError
from .model import Transformer
from .tokenizer import Tokenizer

# Layer tensors carry their stack and index first, as the hook names do: encoder.layers.3.…
_LAYER_NAME = re.compile(r"(encoder|decoder)\.layers\.([0-9]{1,9})\.")


class _SkipInit(TorchFunctionMode):
    """Meta tensors hold no values, so initialising them is skipped (nn.Embedding's normal_
    would otherwise import torch's Python reference kernels, a second on first use)."""

    SKIPPED = {torch.nn.init.normal_, torch.Tensor.normal_}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.SKIPPED:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def check_tensors(state, label: str, floating: bool = False) -> None:
    """A state dict maps names (strings) to dense tensors holding data (floating, if asked)."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{label}: the tensors are a {type(state).__name__}, not a "
                              "mapping of names to tensors")
    for name, tensor in state.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{label}: tensor key {name!r} is a {type(name).__name__}, "
                                  "not a name")
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{label}: {name!r} holds a {type(tensor).__name__}, "
                                  "not a tensor")
        if tensor.layout != torch.strided or tensor.is_meta or tensor.is_quantized:
            kind = "a meta" if tensor.is_meta else "a quantized" if tensor.is_quantized else \
                f"a {tensor.layout} (sparse)"
            raise CheckpointError(f"{label}: tensor {name!r} is {kind} tensor; only dense "
                                  "tensors with their data are read")
        if floating and not tensor.is_floating_point():
            raise CheckpointError(f"{label}: tensor {name!r} holds {tensor.dtype} values; "
                                  "weights must be floating point")


def _layer_counts(state: dict[str, torch.Tensor]) -> dict[str, int]:
    counts = {"encoder": 0, "decoder": 0}
    for name in state:
        match = _LAYER_NAME.match(name)
        if match:
            stack, index = match.group(1), int(match.group(2))
            counts[stack] = max(counts[stack], index + 1)
    return counts


def check_layers(config: ModelConfig, state: dict[str, torch.Tensor], label: str) -> None:
    """The file holds every layer the config declares: checked first, as building hundreds of
    layers (even without their data) takes seconds. Extra layers are named as unexpected
    tensors later."""
    found = _layer_counts(state)
    for stack, declared in (("encoder", config.n_encoder_layers if config.has_encoder else 0),
                            ("decoder", config.n_decoder_layers if config.has_decoder else 0)):
        if found[stack] < declared:
            raise CheckpointError(f"{label}: the config declares {declared} {stack} layers "
                                  f"(n_{stack}_layers), but the tensors hold {found[stack]}")


def _shape_problems(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> list[str]:
    problems = []
    for name in sorted(set(expected) - set(state)):
        problems.append(f"missing tensor {name!r} (expected shape {list(expected[name].shape)})")
    for name in sorted(set(state) - set(expected)):
        problems.append(f"unexpected tensor {name!r} (shape {list(state[name].shape)})")
    for name in sorted(set(state) & set(expected)):
        if tuple(state[name].shape) != tuple(expected[name].shape):
            problems.append(f"tensor {name!r} has shape {list(state[name].shape)} in the file, "
                            f"but the config needs {list(expected[name].shape)}")
    return problems


def build_module(config: ModelConfig, state: dict[str, torch.Tensor], label: str) -> Transformer:
    """The Transformer of ``config`` holding ``state``; every missing, unexpected or misshaped
    tensor is named (with both shapes) before any memory is allocated for the model."""
    try:
        config.validate()  # again: importers settle some fields after building the config
    except ValueError as error:
        raise CheckpointError(f"{label}: invalid model config ({error})") from None
    check_tensors(state, label, floating=True)
    check_layers(config, state, label)
    with torch.device("meta"), _SkipInit():
        module = Transformer(config)
    problems = _shape_problems(module.state_dict(), state)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CheckpointError(f"{label}: " + "; ".join(problems[:5]) + more)
    weights = {k: v.float().contiguous() for k, v in state.items()}
    module.load_state_dict(weights, assign=True)
    if any(t.is_meta for t in itertools.chain(module.parameters(), module.buffers())):
        # A buffer computed at construction and never saved has no data on meta: the sizes
        # are known to be the file's now, so the model is built for real.
        module = Transformer(config)
        module.load_state_dict(weights)
    return module


def check_vocabulary(config: ModelConfig, tokenizers: list[Tokenizer], label: str) -> None:
    """No tokenizer may produce an id past the model's token table (one from another model),
    nor fail on ordinary text."""
    for tokenizer in tokenizers:
        defect = tokenizer.defect()
        if defect:
            raise CheckpointError(f"{label}: unusable tokenizer: {defect}")
        token, token_id = tokenizer.largest_id()
        if token_id >= config.vocab_size:
            raise CheckpointError(
                f"{label}: the tokenizer's token {token!r} has id {token_id}, but the model's "
                f"token table has {config.vocab_size} rows (vocab_size): the tokenizer does not "
                "belong to this model")
