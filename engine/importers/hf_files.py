"""Reading a Hugging Face folder's files: weights, tokenizer files, and config values.

Only data is read: safetensors, or ``pytorch_model.bin`` through ``torch.load(weights_only=True)``.
Nothing in the folder is ever imported or executed.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ..checkpoint import load_state, read_safetensors_header
from ..config import ModelConfig
from ..errors import CheckpointError
from ..inspectable_model import InspectableModel
from ..model import Transformer
from ..tokenizer import HFTokenizer, Tokenizer

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


def activation(name: str, folder: Path) -> str:
    if name not in ACTIVATIONS:
        raise CheckpointError(f"{folder.name}: activation {name!r} is not supported; "
                              f"supported: {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]


def same_value(config: dict, names: tuple[str, ...], folder: Path, what: str):
    """The one value several config fields share; the engine has a single setting for them."""
    values = {config[name] for name in names if config.get(name) is not None}
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
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            shards = sorted(set(weight_map.values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CheckpointError(f"{index.name}: unreadable shard index ({error})") from None
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
    read_safetensors_header(path)  # names truncation and header damage precisely
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path.name}: corrupt tensor data ({error})") from None


def _read_torch(path: Path) -> dict[str, torch.Tensor]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{path.name}: refused or unreadable: weights are only read as "
                              f"plain tensors ({first_line})") from None
    except Exception as error:  # a damaged pickle makes torch raise almost anything (IndexError...)
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(f"{path.name}: corrupt or truncated PyTorch file ({detail})") from None
    if not isinstance(payload, dict) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise CheckpointError(f"{path.name}: not a state dict of tensors")
    return payload


def token_id(value) -> int | None:
    """A config's token id; some configs list several end tokens, the first is the model's own."""
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else int(value)


def suppressed_token_ids(folder: Path, config: dict) -> list[int]:
    """Single-token ``bad_words_ids`` (generation_config.json, else config.json): ids that
    transformers' generate() never emits, such as Marian's pad."""
    generation = folder / "generation_config.json"
    settings = read_json(generation) if generation.exists() else {}
    banned = settings.get("bad_words_ids") or config.get("bad_words_ids") or []
    if not isinstance(banned, list):
        return []
    return sorted({int(ids[0]) for ids in banned if isinstance(ids, list) and len(ids) == 1})


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


def build_model(folder: Path, config: ModelConfig, state: dict[str, torch.Tensor],
                tokenizer: Tokenizer, target_tokenizer: Tokenizer | None = None) -> InspectableModel:
    """The engine's own Transformer with the renamed tensors loaded; every mismatch is named."""
    module = Transformer(config)
    load_state(module, state, folder.name)
    return InspectableModel(module, tokenizer, folder.name, {"imported_from": str(folder)},
                            target_tokenizer, str(folder))


# ---- tokenizer files --------------------------------------------------------------
def tokenizer_config(folder: Path) -> dict:
    path = folder / "tokenizer_config.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: unreadable tokenizer_config.json ({error})") from None
    return data if isinstance(data, dict) else {}


def tokenizer_json(folder: Path) -> HFTokenizer | None:
    """``tokenizer.json`` through the ``tokenizers`` library, if the folder has one."""
    path = folder / "tokenizer.json"
    if not path.exists():
        return None
    from tokenizers import Tokenizer as Backend

    try:
        return HFTokenizer(Backend.from_file(str(path)))
    except Exception as error:  # tokenizers raises a bare Exception on malformed files
        raise CheckpointError(f"{path.name}: unreadable tokenizer file ({error})") from None


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path.name}: unreadable ({error.strerror or error})") from None


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path.name}: unreadable ({error})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path.name}: expected a JSON object")
    return data
