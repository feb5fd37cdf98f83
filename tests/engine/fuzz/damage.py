"""The ways a case damages a file: bytes, safetensors headers, state dicts and tokenizer JSON.

Each function takes a seeded ``random.Random`` and changes one thing in place, returning a
short description of what it did. mutations.py picks which of them a case applies.
"""

from __future__ import annotations

import base64
import json
import random
import struct
from pathlib import Path

import torch

from tests.engine.fuzz.values import HOSTILE, dumps, hostile, mutate_json


# ---- bytes ----------------------------------------------------------------------------
def truncate(rng: random.Random, path: Path) -> str:
    data = path.read_bytes()
    cut = rng.randrange(len(data)) if data else 0
    path.write_bytes(data[:cut])
    return f"{path.name} cut to {cut} of {len(data)} bytes"


def flip_bits(rng: random.Random, path: Path) -> str:
    data = bytearray(path.read_bytes())
    if not data:
        return f"{path.name} is empty"
    # Half the cases aim at the first 4 kB, where headers and JSON live.
    span = min(len(data), 4096) if rng.random() < 0.5 else len(data)
    positions = [rng.randrange(span) for _ in range(rng.randint(1, 16))]
    for position in positions:
        data[position] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    return f"{path.name}: {len(positions)} bits flipped at {positions[:4]}"


def splat(rng: random.Random, path: Path) -> str:
    data = bytearray(path.read_bytes())
    start = rng.randrange(max(1, min(len(data), 4096)))
    length = rng.randint(1, 64)
    data[start:start + length] = rng.randbytes(length)
    path.write_bytes(bytes(data))
    return f"{path.name}: {length} random bytes at {start}"


def empty(rng: random.Random, path: Path) -> str:
    path.write_bytes(b"")
    return f"{path.name} emptied"


BYTE_DAMAGE = (truncate, flip_bits, splat, empty)


# ---- safetensors files ----------------------------------------------------------------
def read_safetensors(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + length]), raw[8 + length:]


def write_safetensors(path: Path, header, data: bytes) -> None:
    text = dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def _offsets(rng: random.Random, header: dict, name: str, size: int):
    begin, end = header[name]["data_offsets"]
    others = [v["data_offsets"] for k, v in header.items() if k not in ("__metadata__", name)]
    return rng.choice([
        hostile(rng), [begin], [end, begin] if end > begin else [begin, -1], [begin, size + 100],
        [-8, end], f"{begin},{end}", None, {"begin": begin}, [begin, end, end],
        list(rng.choice(others)) if others else [0, 0], [begin + 1, end + 1], [True, end],
        [float(begin), float(end)],
    ])


def header_entry(rng: random.Random, path: Path) -> str:
    """One tensor's dtype, shape or data_offsets made hostile or inconsistent."""
    header, data = read_safetensors(path)
    name = rng.choice(sorted(k for k in header if k != "__metadata__"))
    field = rng.choice(["data_offsets", "data_offsets", "shape", "dtype", "entry"])
    if field == "data_offsets":
        value = _offsets(rng, header, name, len(data))
        header[name]["data_offsets"] = value
    elif field == "shape":
        value = rng.choice([hostile(rng), [10**9, 10**9], [-1], [2, "x"], [3.5], []])
        header[name]["shape"] = value
    elif field == "dtype":
        value = rng.choice([hostile(rng), "F64", "I64", "BOOL", "F8_E4M3", "Q4", "f32"])
        header[name]["dtype"] = value
    else:
        value = hostile(rng)
        header[name] = value
    write_safetensors(path, header, data)
    return f"header[{name!r}].{field} = {value!r:.60}"


def header_metadata(rng: random.Random, path: Path) -> str:
    header, data = read_safetensors(path)
    metadata = header.get("__metadata__") or {}
    choice = rng.random()
    if choice < 0.4 or not metadata:
        value = rng.choice([v for v in HOSTILE if not isinstance(v, dict)] + [{"format": 1}])
        header["__metadata__"] = value
        described = f"__metadata__ = {value!r:.60}"
    else:
        key = rng.choice(sorted(metadata))
        value = hostile(rng) if choice < 0.8 else rng.choice(["", "{", "[]", "null", "1e400"])
        metadata[key] = value
        described = f"__metadata__[{key!r}] = {value!r:.60}"
    write_safetensors(path, header, data)
    return described


def header_length(rng: random.Random, path: Path) -> str:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    value = rng.choice([0, 1, 7, length - 1, length + 1, length + 8, 2**63, 2**64 - 1, len(raw)])
    path.write_bytes(struct.pack("<Q", value) + raw[8:])
    return f"header length {length} -> {value}"


# ---- state dicts ----------------------------------------------------------------------
def damage_state(rng: random.Random, state: dict) -> str:
    """Remove, rename, reshape, retype or add one tensor."""
    name = rng.choice(sorted(state))
    tensor = state[name]
    op = rng.choice(["remove", "rename", "reshape", "reshape", "dtype", "extra", "scalar", "empty"])
    if op == "remove":
        del state[name]
        return f"tensor {name!r} removed"
    if op == "rename":
        new = rng.choice([name + "x", name.replace(".0.", ".7."), name.replace("weight", "bias"),
                          "encoder.layers.99.self_attn.q_proj.weight", "h.40.attn.bias"])
        state[new] = state.pop(name)
        return f"tensor {name!r} renamed {new!r}"
    if op == "reshape":
        shape = list(tensor.shape) or [1]
        axis = rng.randrange(len(shape))
        shape[axis] = rng.choice([1, 2, shape[axis] + 1, shape[axis] * 2, max(shape[axis] - 1, 0)])
        if rng.random() < 0.3:
            shape = shape + [1]
        state[name] = torch.zeros(shape)
        return f"tensor {name!r} {list(tensor.shape)} -> {shape}"
    if op == "dtype":
        dtype = rng.choice([torch.int64, torch.float16, torch.bfloat16, torch.bool, torch.uint8])
        state[name] = tensor.to(dtype)
        return f"tensor {name!r} as {dtype}"
    if op == "extra":
        extra = rng.choice(["bonus", "encoder.layers.2.ffn.w1.weight", "lm_head.weight",
                            "model.encoder.layers.5.fc1.weight", "decoder.block.3.layer.0.x"])
        state[extra] = torch.zeros(rng.choice([[3], [4, 4], [400, 32]]))
        return f"extra tensor {extra!r}"
    if op == "scalar":
        state[name] = torch.tensor(1.0)
        return f"tensor {name!r} is a 0-d scalar"
    state[name] = torch.zeros([0] * max(tensor.dim(), 1))
    return f"tensor {name!r} is empty"


def foreign_value(rng: random.Random, state: dict) -> str:
    """A .pt state dict entry that is no plain tensor: what torch.load(weights_only) admits."""
    name = rng.choice(sorted(state))
    choice = rng.randrange(7)
    if choice == 0:
        state[name] = rng.choice([1, None, "weights", [1.0, 2.0], 3.5])
        return f"{name!r} holds {state[name]!r}"
    if choice == 1:
        state[name] = torch.empty(state[name].shape, device="meta")
        return f"{name!r} is a meta tensor"
    if choice == 2:
        state[name] = state[name].reshape(state[name].shape[0], -1).to_sparse()
        return f"{name!r} is a sparse tensor"
    if choice == 3:
        state[rng.choice([0, 7, -1])] = state.pop(name)
        return f"{name!r} keyed by an integer"
    if choice == 4:
        state[name] = {"weight": state[name]}
        return f"{name!r} is a nested dict"
    if choice == 5:
        state[name] = torch.nn.Parameter(state[name])
        return f"{name!r} is a Parameter (still a tensor)"
    state[name] = torch.quantize_per_tensor(state[name].float(), 0.1, 0, torch.qint8)
    return f"{name!r} is a quantized tensor"


# ---- tokenizer JSON -------------------------------------------------------------------
def damage_tokenizer(rng: random.Random, data: dict) -> str:
    """The tokenizers-library JSON changed where ids and normalizers live."""
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    choice = rng.randrange(8)
    if choice == 0:
        garbage = base64.b64encode(rng.randbytes(rng.choice([4, 40, 400]))).decode()
        data["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": garbage}
        return "normalizer = Precompiled garbage"
    if choice == 1 and data.get("added_tokens"):
        token = rng.choice(data["added_tokens"])
        token["id"] = hostile(rng)
        return f"added token {token.get('content')!r} id = {token['id']!r:.40}"
    if choice == 2:
        data.setdefault("added_tokens", []).append(
            {"id": rng.choice([10**6, 2**31, 400]), "content": "<new>", "special": True,
             "single_word": False, "lstrip": False, "rstrip": False, "normalized": False})
        return "added token '<new>' with a large id"
    if choice == 3 and isinstance(model.get("vocab"), dict) and model["vocab"]:
        piece = rng.choice(sorted(model["vocab"]))
        model["vocab"][piece] = rng.choice([10**6, -1, 2**40, hostile(rng)])
        return f"vocab[{piece!r}] = {model['vocab'][piece]!r:.40}"
    if choice == 4 and isinstance(model.get("vocab"), (dict, list)):
        unk = model.get("unk_token") or "<unk>"
        if isinstance(model["vocab"], dict):
            model["vocab"].pop(unk, None)
        return f"unknown token {unk!r} removed from the vocab"
    if choice == 5 and isinstance(data.get("post_processor"), dict):
        text = json.dumps(data["post_processor"])
        text = text.replace('"ids": [', f'"ids": [{rng.choice([10**6, -3, 2**33])}, ')
        text = text.replace('", 2]', '", 999999]').replace('", 0]', '", 999999]')
        data["post_processor"] = json.loads(text)
        return "post-processor special ids raised"
    if choice == 6 and model:
        model["type"] = rng.choice(["WordLevel", "BPE", "Unigram", "WordPiece", "Nope", 7])
        return f"model type = {model['type']!r}"
    _, described = mutate_json(rng, data)
    return described
