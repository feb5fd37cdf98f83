"""What BERT-family folders (BERT, RoBERTa, DistilBERT) share: where their files are, how their
tensors are named, and which configs the engine refuses.

A folder is a plain transformers save, or a sentence-transformers one (``modules.json``) whose
Transformer module keeps weights and tokenizer at the top or in a subfolder (``0_Transformer/``).
Tensor names carry the family's prefix (``bert.``) or none (``BertModel``); older files name
LayerNorm parameters ``gamma``/``beta``. Pooling, classifier and NSP heads are ignored.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .. import safe_json
from ..errors import CheckpointError
from .hf_files import read_weights, tokenizer_config

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json")


def check_encoder_config(folder: Path, config: dict, family: str) -> None:
    """Refuse what the engine's encoder cannot do: a causal or cross-attending BERT, and
    position kinds other than an absolute table (their name in the message)."""
    if config.get("is_decoder") or config.get("add_cross_attention"):
        raise CheckpointError(f"{folder.name}: this {family} is configured as a decoder "
                              "(is_decoder / add_cross_attention); only bidirectional encoders "
                              "are supported")
    kind = config.get("position_embedding_type", "absolute")
    if kind not in (None, "absolute"):
        raise CheckpointError(f"{folder.name}: position_embedding_type {kind!r} is not supported; "
                              "only 'absolute' (a learned position table) is")


def module_folder(folder: Path) -> Path:
    """The folder of the sentence-transformers Transformer module, else ``folder`` itself."""
    path = folder / "modules.json"
    if not path.exists():
        return folder
    modules = safe_json.read_json(path)
    if not isinstance(modules, list):
        raise CheckpointError(f"{safe_json.file_label(path)}: unreadable (a JSON {type(modules).__name__}, "
                              "not a list of modules)")
    paths = [m.get("path", "") for m in modules
             if isinstance(m, dict) and str(m.get("type", "")).endswith("models.Transformer")]
    if not paths or not paths[0]:
        return folder
    try:
        root, inner = folder.resolve(), (folder / str(paths[0])).resolve()
        inside = (inner == root or root in inner.parents) and inner.is_dir()
    except (OSError, ValueError):  # a NUL byte, a name too long
        inside = False
    if not inside:  # stay inside
        raise CheckpointError(f"{safe_json.file_label(path)}: the Transformer module's folder "
                              f"{str(paths[0])[:80]!r} is not a folder inside {folder.name}")
    return inner


def files_folder(folder: Path, names: tuple[str, ...]) -> Path:
    """``folder`` when it holds one of ``names``, else the Transformer module's folder."""
    if any((folder / name).exists() for name in names):
        return folder
    return module_folder(folder)


def encoder_weights(folder: Path, prefix: str) -> tuple[dict[str, torch.Tensor], str]:
    """The tensors with ``prefix`` removed and legacy norm names updated, and the prefix the
    file used ("" for a bare ``BertModel``), for naming a missing tensor as the file would."""
    state = read_weights(files_folder(folder, WEIGHT_FILES))
    used = prefix if any(name.startswith(prefix) for name in state) else ""
    out = {}
    for name, tensor in state.items():
        name = name[len(used):] if used and name.startswith(used) else name
        if "LayerNorm." in name or "layer_norm." in name:  # TF-era files: gamma/beta
            name = name.replace(".gamma", ".weight").replace(".beta", ".bias")
        out[name] = tensor
    return out, used


def folder_tokenizer_settings(folder: Path) -> tuple[Path, dict]:
    """The folder that holds the tokenizer files, and its tokenizer_config.json."""
    where = files_folder(folder, TOKENIZER_FILES)
    return where, tokenizer_config(where)


def copy_linear(out: dict, state: dict, source: str, target: str, bias: bool = True) -> None:
    """``source.weight`` (and ``.bias``) -> ``target.*``; a missing one raises KeyError(name)."""
    for part in ("weight", "bias") if bias else ("weight",):
        out[f"{target}.{part}"] = state[f"{source}.{part}"]


def tied(config: dict) -> bool:
    """transformers ties the MLM decoder to the token table unless the config says not to,
    even when a file stores a decoder matrix of its own."""
    return config.get("tie_word_embeddings", True) is not False
