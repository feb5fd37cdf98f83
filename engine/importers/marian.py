"""Marian (opus-mt) translation models from Hugging Face folders.

Same layer as BART, but sinusoidal positions laid out sin|cos (not interleaved) and never
stored, a sqrt(d) embedding scale, no embedding norm, and pad = the last id = the decoder
start token. The tokenizer is two SentencePiece models (source.spm, target.spm) whose
*pieces* are mapped to ids through vocab.json.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError
from ..sentencepiece_tokenizer import SentencePieceTokenizer
from . import HF_IMPORTERS
from .bart import bart_like_config, convert_bart_like
from .hf_files import build_model, read_bytes, read_json, tokenizer_config


def marian_tokenizers(folder: Path) -> tuple[SentencePieceTokenizer, SentencePieceTokenizer]:
    """Source and target tokenizers from source.spm / target.spm and vocab.json."""
    for name in ("source.spm", "target.spm", "vocab.json"):
        if not (folder / name).exists():
            raise CheckpointError(f"{folder.name}: Marian needs {name} in the model folder")
    settings = tokenizer_config(folder)
    vocab = read_json(folder / "vocab.json")
    target_vocab = vocab
    if settings.get("separate_vocabs"):
        target_vocab = read_json(folder / "target_vocab.json")
    tokens = {key: str(settings.get(key) or default) for key, default in (
        ("eos_token", "</s>"), ("unk_token", "<unk>"), ("pad_token", "<pad>"))}
    try:
        source = SentencePieceTokenizer(read_bytes(folder / "source.spm"), vocab,
                                        language_codes=True, **tokens)
        target = SentencePieceTokenizer(read_bytes(folder / "target.spm"), target_vocab,
                                        language_codes=True, **tokens)
    except (RuntimeError, ValueError, TypeError) as error:
        raise CheckpointError(f"{folder.name}: unusable Marian tokenizer files ({error})") from None
    return source, target


def import_marian(folder: Path, config: dict):
    decoder_vocab = config.get("decoder_vocab_size")
    if decoder_vocab not in (None, config.get("vocab_size")):
        raise CheckpointError(f"{folder.name}: separate source and target vocabularies "
                              f"({config.get('vocab_size')} and {decoder_vocab}) are not supported")
    source, target = marian_tokenizers(folder)
    model_config = bart_like_config(
        folder, config, "marian", positions="sinusoidal", sinusoid_layout="split",
        embed_norm=False, unk_token_id=source.unk_id)
    model_config, state = convert_bart_like(folder, model_config, learned_positions=False,
                                            embed_norm=False)
    return build_model(folder, model_config, state, source, target)


HF_IMPORTERS["marian"] = import_marian
