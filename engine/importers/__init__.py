"""Importers of other checkpoint formats into the built-in engine (Hugging Face folders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import CheckpointError

# model_type -> function(folder, config_dict) -> InspectableModel. Families register here.
HF_IMPORTERS: dict[str, Callable] = {}


def load_hf_folder(folder: Path):
    """Load a Hugging Face model folder offline; never runs code from the folder."""
    config_path = folder / "config.json"
    if not config_path.exists():
        inner = _sentence_transformers_module(folder)
        if inner is None:
            raise CheckpointError(f"{folder}: not a model folder (no config.json)")
        model = load_hf_folder(inner)
        model.name = folder.name  # the model's folder, not its "0_Transformer" part
        return model
    config = read_json(config_path)
    supported = ", ".join(sorted(HF_IMPORTERS)) or "none yet"
    model_type = config.get("model_type")
    if config.get("auto_map") or config.get("trust_remote_code"):
        raise CheckpointError(f"{folder.name}: model_type {model_type!r} needs its own Python code "
                              f"(auto_map), which is never run; supported types: {supported}")
    if not isinstance(model_type, str) or model_type not in HF_IMPORTERS:
        raise CheckpointError(f"{folder.name}: unsupported model_type {model_type!r}; "
                              f"supported: {supported}")
    return HF_IMPORTERS[model_type](folder, config)


def _sentence_transformers_module(folder: Path) -> Path | None:
    """Older sentence-transformers folders keep the model only in their Transformer module's
    subfolder (``0_Transformer/config.json``), named by ``modules.json``."""
    if not (folder / "modules.json").exists():
        return None
    from .encoder_files import module_folder

    inner = module_folder(folder)
    return inner if inner != folder and (inner / "config.json").exists() else None


# Each family registers itself in HF_IMPORTERS when imported.
from . import bart, bert, distilbert, gemma, gpt2, gpt_neox, llama, marian, modernbert, t5  # noqa: E402, F401
from .hf_files import read_json  # noqa: E402
