"""A large model's weights, read one tensor at a time and computed on in float32.

Llama-class folders store bfloat16 or float16, often split into shards listed by
``model.safetensors.index.json``. Loading a whole shard and then converting it would hold the
file's copy and the float32 copy at once; here each tensor is read from the memory-mapped file
and converted before the next is read, so the peak is the float32 model plus one tensor.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from .. import safe_json
from ..errors import CheckpointError
from ..safetensors_header import read_safetensors_header
from .hf_files import read_weights

INDEX = "model.safetensors.index.json"
# safetensors' dtype names -> the names the model facts show
DTYPE_NAMES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64"}


def read_float32_weights(folder: Path) -> tuple[dict[str, torch.Tensor], str]:
    """(the folder's tensors as float32, the stored dtype: "bfloat16", "float32", "mixed: …")."""
    single = folder / "model.safetensors"
    if single.exists():
        return _read_files(folder, {single.name: None})
    index = folder / INDEX
    if index.exists():
        return _read_files(folder, shard_names(folder, index))
    state = read_weights(folder)  # pytorch_model.bin through torch.load(weights_only=True)
    stored = Counter(str(t.dtype).removeprefix("torch.") for t in state.values())
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, _dtype_text(stored)


def shard_names(folder: Path, index: Path) -> dict[str, set[str]]:
    """Each shard the index lists -> the tensor names it says that shard holds; every shard is
    checked to exist before any is read."""
    label = safe_json.file_label(index)
    weight_map = safe_json.read_json_object(index).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map or not all(
            isinstance(v, str) for v in weight_map.values()):
        raise CheckpointError(f"{label}: unreadable shard index (weight_map is not an object of "
                              "tensor names and file names)")
    shards: dict[str, set[str]] = {}
    for name, shard in weight_map.items():
        if Path(shard).name != shard or shard in ("", ".", ".."):
            raise CheckpointError(f"{label}: shard {shard!r} (of tensor {name!r}) is not a file "
                                  "name in the model folder")
        shards.setdefault(shard, set()).add(name)
    missing = sorted(s for s in shards if not (folder / s).is_file())
    if missing:
        raise CheckpointError(f"{folder.name}: missing weights shard {missing[0]} (listed in {INDEX}"
                              + (f", with {len(missing) - 1} more missing)" if len(missing) > 1 else ")"))
    return shards


def _read_files(folder: Path, shards: dict[str, set[str] | None]) -> tuple[dict, str]:
    state: dict[str, torch.Tensor] = {}
    stored: Counter = Counter()
    for shard, listed in sorted(shards.items()):
        path = folder / shard
        label = safe_json.file_label(path)
        header = read_safetensors_header(path, label)  # names truncation and header damage
        names = [n for n in header if n != "__metadata__"]
        if listed is not None and set(names) != listed:
            absent, unlisted = sorted(listed - set(names)), sorted(set(names) - listed)
            which = (f"lacks tensor {absent[0]!r}, which {INDEX} places there" if absent
                     else f"holds tensor {unlisted[0]!r}, which {INDEX} does not list")
            raise CheckpointError(f"{label}: the shard {which}")
        twice = [n for n in names if n in state]
        if twice:
            raise CheckpointError(f"{label}: tensor {twice[0]!r} is also in another shard")
        stored.update(DTYPE_NAMES.get(header[n].get("dtype"), str(header[n].get("dtype")))
                      for n in names)
        try:
            with safe_open(str(path), framework="pt") as handle:
                for name in names:
                    tensor = handle.get_tensor(name)
                    state[name] = tensor.float() if tensor.is_floating_point() else tensor
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{label}: corrupt tensor data ({error})") from None
    return state, _dtype_text(stored)


def _dtype_text(stored: Counter) -> str:
    """"bfloat16", or "mixed: bfloat16 (290), float32 (2)" when the tensors differ."""
    if len(stored) <= 1:
        return next(iter(stored), "none")
    return "mixed: " + ", ".join(f"{dtype} ({count})" for dtype, count in stored.most_common())
