"""Native checkpoints: one .safetensors file (tensors + config + tokenizer + summary), or a .pt file.

Nothing read from a file is executed: safetensors holds only tensors and strings, and
``.pt`` files are read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import safe_json
from .assembly import build_module, check_tensors, check_vocabulary
from .config import ModelConfig
from .errors import CheckpointError
from .inspectable_model import InspectableModel
from .safetensors_header import read_safetensors_header
from .tokenizer import tokenizer_from_json

# /2: tensors named as the hook points are (norm_self, embed_norm, position_table). /1 files
# (the shipped demo models among them) still load: their names are translated on loading.
FORMAT = "transformer-inspector/2"
READABLE_FORMATS = ("transformer-inspector/1", FORMAT)
TORCH_SUFFIXES = (".pt", ".pth", ".bin")
TEXT_FIELDS = ("format", "config", "tokenizer", "target_tokenizer", "name", "training", "sha256")


def save(model: InspectableModel, path) -> None:
    """Write ``model`` to ``path`` atomically: a crash never leaves half a file behind."""
    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in model.module.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "config": model.config.to_json(),
        "tokenizer": model.tokenizer.to_json(),
        "name": model.name,
        "training": json.dumps(model.training),
        "sha256": tensor_digest(state),
    }
    if model.target_tokenizer is not model.tokenizer:
        metadata["target_tokenizer"] = model.target_tokenizer.to_json()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        os.close(handle)
        if path.suffix in TORCH_SUFFIXES:
            torch.save({**metadata, "state_dict": state}, temporary)
        else:
            save_file(state, temporary, metadata=metadata)
        os.replace(temporary, path)
    except OSError as error:
        raise OSError(f"cannot write checkpoint {path}: {error.strerror or error}") from error


def tensor_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, shapes and bytes in name order: detects corrupted tensor data."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].contiguous()
        digest.update(f"{name}:{list(tensor.shape)}:{tensor.dtype}".encode())
        # reshape(-1): a 0-d tensor cannot be viewed as bytes; other tensors keep their bytes.
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def load(path) -> InspectableModel:
    """Load a native .safetensors/.pt checkpoint or a Hugging Face folder (or its config.json)."""
    path = Path(path)
    try:
        exists = path.exists()
    except OSError as error:  # a name too long, a folder without read permission
        raise CheckpointError(f"{path}: cannot be opened ({error.strerror or error})") from None
    if not exists:
        raise CheckpointError(f"{path}: no such file or folder")
    if path.is_dir() or path.name == "config.json":
        from .importers import load_hf_folder

        return load_hf_folder(path if path.is_dir() else path.parent)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return _load_safetensors(path)
    if suffix in TORCH_SUFFIXES:
        return _load_torch(path)
    raise CheckpointError(
        f"{path.name}: unsupported format {suffix or '(no extension)'!r}; open a .safetensors, "
        ".pt or .pth file, or a Hugging Face model folder")


# ---- safetensors ------------------------------------------------------------------
def _load_safetensors(path: Path) -> InspectableModel:
    header = read_safetensors_header(path)  # its __metadata__, if any, is an object of strings
    metadata = header.get("__metadata__") or {}
    # Hugging Face writes format "pt" and no config: such a file belongs to its folder.
    if metadata.get("format") not in READABLE_FORMATS and "config" not in metadata:
        if (path.parent / "config.json").exists():
            from .importers import load_hf_folder

            return load_hf_folder(path.parent)
        raise CheckpointError(
            f"{path.name}: a safetensors file without this app's metadata; if it belongs to a "
            "Hugging Face model, open its folder (with config.json) instead")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path.name}: corrupt tensor data ({error})") from None
    return _build(path, metadata, state)


# ---- torch files ------------------------------------------------------------------
def read_torch_file(path: Path, label: str | None = None):
    """What a .pt/.pth/.bin file holds, read as plain data (``weights_only=True``): tensors,
    strings, numbers, lists and dicts. Anything else is refused, never constructed.

    ``label`` names the file in messages (default: its name).
    """
    label = label or path.name
    if not path.is_file():
        raise CheckpointError(f"{label}: expected a PyTorch file, but it is "
                              f"{'a folder' if path.is_dir() else 'not a regular file'}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            raise CheckpointError(
                f"{label}: refused: the file holds Python objects whose loading would run "
                f"code, and checkpoints are only read as plain tensors ({first_line})") from None
        raise CheckpointError(f"{label}: not a PyTorch checkpoint ({first_line})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, IndexError, KeyError,
            TypeError, AttributeError, OverflowError, NotImplementedError) as error:
        # A damaged pickle or zip makes torch raise any of these (IndexError, KeyError...).
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(f"{label}: corrupt or truncated PyTorch file ({detail})") from None


def _load_torch(path: Path) -> InspectableModel:
    payload = read_torch_file(path)
    if isinstance(payload, dict) and "state_dict" in payload and "config" in payload:
        metadata = {k: v for k, v in payload.items() if k != "state_dict"}
        for key in TEXT_FIELDS:
            if metadata.get(key) is not None and not isinstance(metadata[key], str):
                raise CheckpointError(f"{path.name}: {key!r} is a {type(metadata[key]).__name__}, "
                                      "not text")
        return _build(path, metadata, payload["state_dict"])
    if isinstance(payload, dict) and payload and all(
            isinstance(v, torch.Tensor) for v in payload.values()):
        if (path.parent / "config.json").exists():
            from .importers import load_hf_folder

            return load_hf_folder(path.parent)
        raise CheckpointError(
            f"{path.name}: holds {len(payload)} tensors but no model config; save it with "
            "model.save(), or open the Hugging Face folder it belongs to")
    raise CheckpointError(f"{path.name}: not a checkpoint this app can read "
                          f"(found a {type(payload).__name__})")


# ---- shared ------------------------------------------------------------------------
def _build(path: Path, metadata: dict, state: dict) -> InspectableModel:
    fmt = metadata.get("format")
    if fmt not in READABLE_FORMATS:
        raise CheckpointError(f"{path.name}: unsupported checkpoint format {fmt!r}; "
                              f"this version reads {' and '.join(map(repr, READABLE_FORMATS))}")
    try:
        config = ModelConfig.from_json(metadata.get("config") or "")
    except ValueError as error:
        raise CheckpointError(f"{path.name}: invalid model config ({error})") from None
    try:
        tokenizer = tokenizer_from_json(metadata.get("tokenizer") or "", config.vocab_size)
        target = metadata.get("target_tokenizer")
        target_tokenizer = tokenizer_from_json(target, config.vocab_size) if target else None
    except ValueError as error:
        raise CheckpointError(f"{path.name}: invalid embedded tokenizer ({error})") from None
    check_vocabulary(config, [t for t in (tokenizer, target_tokenizer) if t is not None], path.name)
    check_tensors(state, path.name)
    expected_digest = metadata.get("sha256")
    if expected_digest and tensor_digest(state) != expected_digest:
        raise CheckpointError(f"{path.name}: corrupt file: the tensor data does not match "
                              "the checksum written when it was saved")
    if fmt != FORMAT:
        state = {current_name(name): tensor for name, tensor in state.items()}
    try:
        training = safe_json.loads_object(metadata.get("training") or "{}", "the training summary")
    except ValueError as error:
        raise CheckpointError(f"{path.name}: invalid training summary ({error})") from None
    module = build_module(config, state, path.name)
    return InspectableModel(module, tokenizer, metadata.get("name") or path.stem, training,
                            target_tokenizer, str(path))


# Tensor names written before norms and the position table moved to where their hook names
# say (``encoder.layers.0.norm_self``, ``encoder.embed_norm``); files keep their names (and the
# checksum over them), and loading renames.
LEGACY_NAMES = (
    (".self_attn_sublayer.norm.", ".norm_self."),
    (".cross_attn_sublayer.norm.", ".norm_cross."),
    (".ffn_sublayer.norm.", ".norm_ffn."),
    (".embed.learned_positions.", ".position_table."),
    (".embed.norm.", ".embed_norm."),
)


def current_name(name: str) -> str:
    """A tensor's name in today's module tree, for a name an older version wrote."""
    for old, new in LEGACY_NAMES:
        if old in name:
            return name.replace(old, new)
    return name
