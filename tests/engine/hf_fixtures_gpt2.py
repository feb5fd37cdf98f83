"""A tiny random GPT-2 saved as Hugging Face folders, with a byte-level BPE trained here.

``gpt2_folder("gpt2", ...)`` is what ``save_pretrained`` writes today (tokenizer.json,
model.safetensors with ``transformer.`` names); ``gpt2_folder("gpt2_vocab_files", ...)`` is the
same model with the older tokenizer files, vocab.json + merges.txt. ``<|endoftext|>`` is the
last id, as in GPT-2 (50256). Weights are of unit scale, so attention is far from uniform.
transformers is imported only here and in tests, never by the app.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from tests.engine.hf_fixtures import CORPUS

EOS = "<|endoftext|>"
N_POSITIONS = 64
VARIANTS = ("gpt2", "gpt2_vocab_files")

_built: dict[str, Path] = {}


def gpt2_folder(variant: str, tmp_path_factory) -> Path:
    """The saved folder of ``variant`` (built on first use in this session)."""
    if variant not in _built:
        folder = tmp_path_factory.mktemp(f"hf-{variant}")
        if variant == "gpt2":
            build_gpt2(folder)
        else:
            shutil.copytree(gpt2_folder("gpt2", tmp_path_factory), folder, dirs_exist_ok=True)
            to_vocab_files(folder)
        _built[variant] = folder
    return _built[variant]


def load_gpt2_reference(folder: Path):
    """transformers' GPT2LMHeadModel (eager attention, eval mode) and tokenizer for ``folder``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(folder)


def train_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary (all 256 bytes, then merges) with ``<|endoftext|>`` last."""
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(CORPUS * 3, vocab_size=400, special_tokens=[EOS],
                                show_progress=False)
    model_json = json.loads(trainer._tokenizer.to_str())["model"]
    ordinary = sorted((i, t) for t, i in model_json["vocab"].items() if t != EOS)
    vocab = {token: n for n, (_, token) in enumerate(ordinary)} | {EOS: len(ordinary)}
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model_json["merges"]]
    return vocab, merges


def randomize_gpt2(model, seed: int) -> None:
    """Embeddings N(0,1), Conv1D ``[in, out]`` matrices N(0, 1/in) with q and k doubled so that
    heads focus, norm gains 1 +- 0.1, biases 0.1 N(0,1)."""
    generator = torch.Generator().manual_seed(seed)
    d = model.config.n_embd
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            noise = torch.randn(tensor.shape, generator=generator)
            if "wte" in name or "wpe" in name:
                tensor.copy_(noise)
            elif tensor.dim() == 1:
                tensor.copy_(1 + 0.1 * noise if ".ln_" in name and name.endswith("weight")
                             else 0.1 * noise)
            else:
                tensor.copy_(noise / tensor.shape[0] ** 0.5)
                if "c_attn" in name:
                    tensor[:, : 2 * d] *= 2.0


def build_gpt2(folder: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    vocab, merges = train_vocab()
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges)
    eos = vocab[EOS]
    config = GPT2Config(vocab_size=len(vocab), n_embd=32, n_layer=2, n_head=4,
                        n_positions=N_POSITIONS, bos_token_id=eos, eos_token_id=eos)
    torch.manual_seed(6)
    model = GPT2LMHeadModel(config)
    randomize_gpt2(model, seed=16)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def to_vocab_files(folder: Path) -> None:
    """Replace tokenizer.json by vocab.json + merges.txt, the files of older GPT-2 uploads."""
    model_json = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    (folder / "vocab.json").write_text(json.dumps(model_json["vocab"], ensure_ascii=False),
                                       encoding="utf-8")
    merges = [" ".join(m) if isinstance(m, list) else m for m in model_json["merges"]]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n",
                                       encoding="utf-8")
    (folder / "tokenizer.json").unlink()
