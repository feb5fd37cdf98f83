"""Reading a Hugging Face folder's files: weights, tokenizer files, and config values.

Only data is read: safetensors, or ``pytorch_model.bin`` through ``torch.load(weights_only=True)``.
Nothing in the folder is ever imported or executed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from .. import safe_json
from ..assembly import build_module, check_tensors, check_vocabulary
from ..checkpoint import read_torch_file
from ..config import SIZE_LIMITS, ModelConfig
from ..errors import CheckpointError
from ..inspectable_model import InspectableModel
from ..safetensors_header import read_safetensors_header
from ..tokenizer import HFTokenizer, Tokenizer, hf_tokenizer_from_str

# Hugging Face activation names -> the engine's.
ACTIVATIONS = {
    "relu": "relu",
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "silu": "silu",
    "swish": "swish",
}


REQUIRED = object()  # a config value without a default


def activation(name: str, folder: Path) -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise CheckpointError(f"{folder.name}: activation {name!r} is not supported; "
                              f"supported: {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]


# ---- config values, each of the type it must have ----------------------------------
def _value(config: dict, name: str, folder: Path, default):
    value = config.get(name)
    if value is None and default is REQUIRED:
        raise CheckpointError(f"{folder.name}: config.json has no {name}")
    return value


def integer(config: dict, name: str, folder: Path, default=REQUIRED):
    """``config[name]`` as a whole number (not a bool, a float or 1e400); null: ``default``."""
    value = _value(config, name, folder, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise CheckpointError(f"{folder.name}: config.json: {name}={_short(value)} must be a "
                              "whole number")
    return value


def number(config: dict, name: str, folder: Path, default=REQUIRED) -> float:
    """``config[name]`` as a finite number; null: ``default``."""
    value = _value(config, name, folder, default)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise CheckpointError(f"{folder.name}: config.json: {name}={_short(value)} must be a "
                              "finite number")
    return float(value)


def vocab_rows(config: dict, folder: Path, default=REQUIRED) -> int:
    """``vocab_size``, read first and bounded: tokenizer files are checked against it."""
    value = integer(config, "vocab_size", folder, default)
    low, high = SIZE_LIMITS["vocab_size"]
    if not low <= value <= high:
        raise CheckpointError(f"{folder.name}: config.json: vocab_size={value} is outside {low}..{high}")
    return value


def _short(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def architectures(config: dict) -> list[str]:
    """The class names config.json lists (``BertForMaskedLM``); anything else reads as none."""
    names = config.get("architectures")
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def same_value(config: dict, names: tuple[str, ...], folder: Path, what: str):
    """The one value several config fields share; the engine has a single setting for them."""
    values = {integer(config, name, folder, None) for name in names} - {None}
    if len(values) != 1:
        raise CheckpointError(f"{folder.name}: the encoder and decoder differ in {what} "
                              f"({', '.join(f'{n}={config.get(n)}' for n in names)}); "
                              "the engine needs one value")
    return values.pop()


# ---- weights ----------------------------------------------------------------------
def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The folder's tensors: model.safetensors (single or sharded) or pytorch_model.bin."""
    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    if single.exists():
        return _read_safetensors(single)
    if index.exists():
        weight_map = safe_json.read_json_object(index).get("weight_map")
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
            raise CheckpointError(f"{safe_json.file_label(index)}: unreadable shard index (weight_map "
                                  "is not an object of tensor names and file names)")
        shards = sorted(set(weight_map.values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(_read_safetensors(folder / Path(shard).name))
        return state
    torch_file = folder / "pytorch_model.bin"
    if torch_file.exists():
        return _read_torch(torch_file)
    raise CheckpointError(f"{folder.name}: no weights found (expected model.safetensors "
                          "or pytorch_model.bin)")


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise CheckpointError(f"{path.parent.name}: missing weights shard {path.name}")
    label = safe_json.file_label(path)
    read_safetensors_header(path, label)  # names truncation and header damage precisely
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{label}: corrupt tensor data ({error})") from None


def _read_torch(path: Path) -> dict[str, torch.Tensor]:
    label = safe_json.file_label(path)
    payload = read_torch_file(path, label)
    if not isinstance(payload, dict):
        raise CheckpointError(f"{label}: not a state dict of tensors (found a "
                              f"{type(payload).__name__})")
    check_tensors(payload, label)
    return payload


def token_id(value):
    """A config's token id; some configs list several end tokens, the first is the model's own.

    Anything but a whole number (or null) is passed on for ModelConfig to refuse by name.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def layer_number(digits: str) -> int:
    """A layer index from a tensor name; a 5,000-digit one is merely large (int() refuses it)."""
    return int(digits) if len(digits) <= 9 else 10**9


def check_layer_counts(state: dict[str, torch.Tensor], pattern: str,
                       declared: dict[str, tuple[str, int]], folder: Path) -> None:
    """The weights hold exactly the layers config.json declares: a renamer reads only the
    declared ones, so extra layers would otherwise be dropped without a word.

    ``pattern`` matches a layer tensor's name, its group ``index`` the layer and its optional
    group ``stack`` a key of ``declared`` (stack -> (config field, count)).
    """
    regex = re.compile(pattern)
    found = dict.fromkeys(declared, 0)
    for name in state:
        match = regex.match(name)
        if match:
            stack = match.groupdict().get("stack") or next(iter(declared))
            found[stack] = max(found[stack], layer_number(match.group("index")) + 1)
    for stack, (field, count) in declared.items():
        if found[stack] != count:
            raise CheckpointError(f"{folder.name}: config.json declares {field}={count}, but "
                                  f"the weights hold {found[stack]} {stack} layers")


def pick(state: dict[str, torch.Tensor], *names: str) -> torch.Tensor:
    """The first of ``names`` present: tied tensors are saved under any one of their names."""
    for name in names:
        if name in state:
            return state[name]
    raise KeyError(names[0])


def separate_head(state: dict[str, torch.Tensor], head_name: str, embedding: torch.Tensor):
    """The output matrix when it is stored apart from the token table and differs from it."""
    head = state.get(head_name)
    if head is None or (head.shape == embedding.shape and torch.equal(head, embedding)):
        return None
    return head


def read_config(folder: Path, make_config, *args) -> ModelConfig:
    """``make_config(*args)``, with a bad or missing config.json value named for the folder."""
    try:
        return make_config(*args)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{folder.name}: config.json is missing or has an invalid "
                              f"value ({error})") from None


def renamed_tensors(folder: Path, rename, *args):
    """``rename(*args)``: the engine's state dict, with a missing or unexpected Hugging Face
    tensor named for the folder."""
    try:
        return rename(*args)
    except KeyError as error:
        raise CheckpointError(f"{folder.name}: missing tensor {error.args[0]!r}") from None
    except CheckpointError as error:
        raise CheckpointError(f"{folder.name}: {error}") from None


def build_model(folder: Path, config: ModelConfig, state: dict[str, torch.Tensor],
                tokenizer: Tokenizer, target_tokenizer: Tokenizer | None = None) -> InspectableModel:
    """The engine's own Transformer with the renamed tensors loaded; every mismatch is named,
    and every id the tokenizers can produce is a row of the token table."""
    tokenizers = [tokenizer] + ([target_tokenizer] if target_tokenizer is not None else [])
    check_vocabulary(config, tokenizers, folder.name)
    module = build_module(config, state, folder.name)
    return InspectableModel(module, tokenizer, folder.name, {"imported_from": str(folder)},
                            target_tokenizer, str(folder))


# ---- tokenizer files --------------------------------------------------------------
def tokenizer_config(folder: Path) -> dict:
    path = folder / "tokenizer_config.json"
    if not path.exists():
        return {}
    data = safe_json.read_json(path)
    return data if isinstance(data, dict) else {}


def tokenizer_json(folder: Path, vocab_size: int | None = None) -> HFTokenizer | None:
    """``tokenizer.json`` through the ``tokenizers`` library, if the folder has one; no id in
    it may pass the model's ``vocab_size``."""
    path = folder / "tokenizer.json"
    if not path.exists():
        return None
    try:
        return hf_tokenizer_from_str(safe_json.read_text(path), vocab_size=vocab_size)
    except ValueError as error:
        raise CheckpointError(f"{safe_json.file_label(path)}: unreadable tokenizer file "
                              f"({error})") from None


def read_bytes(path: Path) -> bytes:
    return safe_json.read_bytes(path)


def read_json(path: Path) -> dict:
    return safe_json.read_json_object(path)
