"""Tiny random BERT-family folders (BERT, RoBERTa, DistilBERT), saved with tokenizers trained here.

Each model has 2 layers, 4 heads and width 32, with weights of unit scale (queries doubled) so
attention is far from uniform. Folders come in the layouts users download: a transformers save
with tokenizer.json; an older BERT with only vocab.txt and a ``pytorch_model.bin`` whose
LayerNorms are named gamma/beta; a sentence-transformers ``BertModel`` (modules.json, 1_Pooling,
a tokenizer.json that truncates and pads) with its weights at the top or in ``0_Transformer/``;
RoBERTa with only vocab.json + merges.txt. ``encoder_folder(name, tmp_path_factory)`` builds
each once per test session. transformers is imported only here, never by the app.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from tests.engine.hf_fixtures import CORPUS

WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64, hidden_act="gelu")
MAX_TOKENS = 64  # every tiny model's learned position table (RoBERTa's has 2 more rows)
# One text per family, with its mask token, long enough to exceed the st tokenizer's saved 8.
MASKED_TEXT = "The small cat {mask} near the window, and 42 big dogs run in the garden."

_built: dict[str, Path] = {}
_vocabularies: dict[str, object] = {}


def encoder_folder(name: str, tmp_path_factory) -> Path:
    """The saved folder ``name`` (a key of BUILDERS), built on first use in this session."""
    if name not in _built:
        folder = tmp_path_factory.mktemp(f"hf-{name}")
        BUILDERS[name](folder, tmp_path_factory)
        _built[name] = folder
    return _built[name]


# ---- tokenizer files, trained here ------------------------------------------------------
def wordpiece_vocab(lowercase: bool = True) -> dict[str, int]:
    """A WordPiece vocabulary trained on CORPUS, specials first as in BERT's own files."""
    key = f"wordpiece-{lowercase}"
    if key not in _vocabularies:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

        trainer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        trainer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer.train_from_iterator(CORPUS * 3, trainers.WordPieceTrainer(
            vocab_size=300, special_tokens=WORDPIECE_SPECIALS, show_progress=False))
        _vocabularies[key] = trainer.get_vocab()
    return _vocabularies[key]


def byte_level_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE (vocab, merges) trained on CORPUS with RoBERTa's specials first."""
    if "bpe" not in _vocabularies:
        from tokenizers import ByteLevelBPETokenizer

        trainer = ByteLevelBPETokenizer()
        trainer.train_from_iterator(CORPUS * 3, vocab_size=400, show_progress=False,
                                    special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
        model = json.loads(trainer._tokenizer.to_str())["model"]
        merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
        _vocabularies["bpe"] = (model["vocab"], merges)
    return _vocabularies["bpe"]


def write_vocab_txt(folder: Path, vocab: dict[str, int]) -> None:
    ordered = sorted(vocab, key=vocab.get)
    (folder / "vocab.txt").write_text("".join(f"{token}\n" for token in ordered), encoding="utf-8")


# ---- weights ------------------------------------------------------------------------------
def unit_scale(model, seed: int) -> None:
    """Embeddings N(0,1), matrices N(0, 1/fan_in) (queries twice that scale), LayerNorm gains
    1 +- 0.1, biases 0.1 N(0,1). Tied tensors are one parameter, so they stay tied."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            noise = torch.randn(tensor.shape, generator=generator)
            norm = "LayerNorm" in name or "layer_norm" in name
            if tensor.dim() == 1:
                tensor.copy_(1 + 0.1 * noise if norm and name.endswith("weight") else 0.1 * noise)
            elif "embeddings" in name:
                tensor.copy_(noise)
            else:
                sharpen = 2.0 if "query" in name or "q_lin" in name else 1.0
                tensor.copy_(sharpen * noise / tensor.shape[1] ** 0.5)


def _save(model, tokenizer, folder: Path, seed: int) -> None:
    unit_scale(model.eval(), seed)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


# ---- folders ------------------------------------------------------------------------------
def build_bert(folder: Path, _factory) -> None:
    """BertForMaskedLM (tied decoder), model.safetensors, tokenizer.json + tokenizer_config.json."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    vocab = wordpiece_vocab()
    torch.manual_seed(1)
    model = BertForMaskedLM(BertConfig(vocab_size=len(vocab), type_vocab_size=2, **TINY))
    _save(model, BertTokenizer(vocab=vocab, do_lower_case=True), folder, seed=21)


def build_bert_legacy(folder: Path, factory) -> None:
    """bert-base-uncased as first uploaded: pytorch_model.bin with LayerNorm gamma/beta, the
    decoder matrix and bias stored too, pooler and NSP heads, and only vocab.txt."""
    from safetensors.torch import load_file

    source = encoder_folder("bert", factory)
    state = {}
    for name, tensor in load_file(str(source / "model.safetensors")).items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                           "LayerNorm.beta")
        state[name] = tensor
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"].clone()
    state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"].clone()
    generator = torch.Generator().manual_seed(5)
    for name, shape in (("bert.pooler.dense.weight", (32, 32)), ("bert.pooler.dense.bias", (32,)),
                        ("cls.seq_relationship.weight", (2, 32)), ("cls.seq_relationship.bias", (2,))):
        state[name] = torch.randn(shape, generator=generator)
    torch.save(state, folder / "pytorch_model.bin")
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config["architectures"] = ["BertForPreTraining"]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    write_vocab_txt(folder, wordpiece_vocab())
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))


def build_bert_cased_vocab(folder: Path, _factory) -> None:
    """Tokenizer files alone: a cased vocab.txt that strips accents (tokenizer_config.json)."""
    write_vocab_txt(folder, wordpiece_vocab(lowercase=False))
    settings = {"do_lower_case": False, "strip_accents": True, "tokenizer_class": "BertTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))


def build_bert_st(folder: Path, _factory) -> None:
    """sentence-transformers' layout of a BertModel (no MLM head, a pooler): modules.json,
    1_Pooling/, and a tokenizer.json saved with truncation to 8 tokens and padding to 128."""
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel, BertTokenizer

    vocab = wordpiece_vocab()
    torch.manual_seed(2)
    model = BertModel(BertConfig(vocab_size=len(vocab), type_vocab_size=2, **TINY))
    _save(model, BertTokenizer(vocab=vocab, do_lower_case=True), folder, seed=22)
    saved = Tokenizer.from_file(str(folder / "tokenizer.json"))
    saved.enable_truncation(max_length=8)
    saved.enable_padding(length=128, pad_id=0, pad_token="[PAD]")
    saved.save(str(folder / "tokenizer.json"))
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling"}]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}))
    (folder / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": 8, "do_lower_case": False}))


def build_bert_st_subfolder(folder: Path, factory) -> None:
    """The same model with its weights and tokenizer in 0_Transformer/, as modules.json says."""
    source = encoder_folder("bert_st", factory)
    inner = folder / "0_Transformer"
    inner.mkdir()
    for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json", "config.json"):
        shutil.copy(source / name, inner / name)
    shutil.copy(source / "config.json", folder / "config.json")
    shutil.copytree(source / "1_Pooling", folder / "1_Pooling")
    modules = json.loads((source / "modules.json").read_text())
    modules[0]["path"] = "0_Transformer"
    (folder / "modules.json").write_text(json.dumps(modules))


def build_roberta(folder: Path, _factory) -> None:
    """RobertaForMaskedLM, positions after padding_idx 1, tokenizer.json whose <mask> takes
    the space before it (lstrip), as roberta-base's does."""
    from tokenizers import AddedToken
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizer

    vocab, merges = byte_level_vocab()
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges,
                                 mask_token=AddedToken("<mask>", lstrip=True, special=True))
    config = RobertaConfig(vocab_size=len(vocab), type_vocab_size=1, pad_token_id=1, bos_token_id=0,
                           eos_token_id=2, **(TINY | {"max_position_embeddings": MAX_TOKENS + 2}))
    torch.manual_seed(3)
    _save(RobertaForMaskedLM(config), tokenizer, folder, seed=23)


def build_roberta_files(folder: Path, factory) -> None:
    """The same RoBERTa with only vocab.json + merges.txt (no tokenizer.json, no settings)."""
    source = encoder_folder("roberta", factory)
    for name in ("model.safetensors", "config.json"):
        shutil.copy(source / name, folder / name)
    vocab, merges = byte_level_vocab()
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    lines = "".join(f"{a} {b}\n" for a, b in merges)
    (folder / "merges.txt").write_text("#version: 0.2\n" + lines, encoding="utf-8")


def build_distilbert(folder: Path, _factory) -> None:
    """DistilBertForMaskedLM with an untied vocab_projector, tokenizer.json."""
    from transformers import DistilBertConfig, DistilBertForMaskedLM, DistilBertTokenizer

    vocab = wordpiece_vocab()
    config = DistilBertConfig(vocab_size=len(vocab), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                              max_position_embeddings=MAX_TOKENS, activation="gelu",
                              tie_word_embeddings=False)
    torch.manual_seed(4)
    _save(DistilBertForMaskedLM(config), DistilBertTokenizer(vocab=vocab, do_lower_case=True),
          folder, seed=24)


BUILDERS = {"bert": build_bert, "bert_legacy": build_bert_legacy,
            "bert_cased_vocab": build_bert_cased_vocab, "bert_st": build_bert_st,
            "bert_st_subfolder": build_bert_st_subfolder, "roberta": build_roberta,
            "roberta_files": build_roberta_files, "distilbert": build_distilbert}


def load_encoder_reference(folder: Path, masked_lm: bool = True):
    """transformers' model (eager attention, eval mode) and tokenizer for ``folder``."""
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    model_class = AutoModelForMaskedLM if masked_lm else AutoModel
    model = model_class.from_pretrained(folder, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(folder)
