"""Tiny random Hugging Face encoder-decoders, saved with real tokenizer files trained here.

Every builder makes a seeded model with 2+2 layers, gives it weights large enough that
attention patterns are far from uniform (Hugging Face's own init is nearly uniform, which
would let a wrong mapping pass), and ``save_pretrained``s model and tokenizer to a folder,
exactly as a user downloads one. ``hf_folder(family, tmp_path_factory)`` builds each family
once per test session. transformers is imported only here, never by the app.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest
import torch

FAMILIES = ("marian", "bart", "t5", "t5_v1_1", "mt5")

CORPUS = [
    "The small cat sleeps near the window.", "Le petit chat dort près de la fenêtre.",
    "A big red dog runs in the garden every morning.", "Un grand chien rouge court dans le jardin.",
    "We bought 3 apples, 12 pears and 150 grams of cheese.", "Nous avons acheté 3 pommes et 12 poires.",
    "Is it raining today? No, the sun is shining!", "Est-ce qu'il pleut aujourd'hui ? Non !",
    "The committee will meet on Monday, 4 March 2024.", "Le comité se réunira lundi 4 mars 2024.",
    "Über den Wolken muss die Freiheit grenzenlos sein.", "Die Straße ist groß und schön.",
    "She said: \"translation is hard\" (really).", "Elle a dit : « la traduction est difficile ».",
    "Researchers look inside models to understand them.", "Les chercheurs regardent dans les modèles.",
    "Numbers like 3.14, 2.71 and 42 appear often.", "Des nombres comme 3,14 et 42 apparaissent.",
    "The house is small but the garden is large.", "La maison est petite mais le jardin est grand.",
    "Où est la bibliothèque ? Elle est à côté de l'école.", "Where is the library? Next to the school.",
]

# Twenty varied sentences: accents, digits, punctuation, CJK, symbols no tokenizer here knows.
SENTENCES = [
    "The small cat sleeps.",
    "Le petit chat dort près de la fenêtre.",
    "Über den Wolken muss die Freiheit grenzenlos sein.",
    "Il y a 3 chats et 42 chiens, n'est-ce pas ?",
    "Prices rose 12.5% in 2024; analysts were surprised!",
    "«Bonjour», dit-elle — puis elle partit.",
    "東京は日本の首都です。",
    "naïve café résumé coöperate",
    "Emoji test: 🙂🚀 done.",
    "Math: ∑ x² ≈ 3.14159 ± 0.001",
    "leading and   multiple   spaces",
    "UPPER lower MiXeD",
    "email@example.com and https://example.org/path?q=1",
    "Straße, Größe, Fußgänger",
    "¿Dónde está la biblioteca?",
    "Ελληνικά και русский текст",
    "The committee will meet on Monday, 4 March 2024.",
    "a",
    "1234567890",
    "Quotes: \"double\" and 'single' (parentheses) [brackets] {braces}",
]

SOURCE = "The committee will meet on Monday, 4 March 2024, near the small garden."
TARGET = "Le comité se réunira lundi 4 mars 2024 près du petit jardin."

_built: dict[str, Path] = {}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run several times faster on one thread on a busy shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def hf_folder(family: str, tmp_path_factory) -> Path:
    """The saved folder of ``family`` (built on first use in this session)."""
    if family not in _built:
        folder = tmp_path_factory.mktemp(f"hf-{family}")
        BUILDERS[family](folder)
        _built[family] = folder
    return _built[family]


def load_reference(folder: Path):
    """transformers' own model (eager attention, eval mode) and tokenizer for ``folder``."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(folder, attn_implementation="eager").eval()
    tokenizer_folder = reference_tokenizer_folder(folder)
    with warnings.catch_warnings():  # MarianTokenizer recommends sacremoses, which it never uses
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        tokenizer = AutoTokenizer.from_pretrained(
            tokenizer_folder if tokenizer_folder.exists() else folder)
    return model, tokenizer


def reference_tokenizer_folder(folder: Path) -> Path:
    return folder.parent / f"{folder.name}-reference-tokenizer"


# ---- tokenizer files, trained here ------------------------------------------------------
def train_sentencepiece(texts, vocab_size: int, **options) -> bytes:
    import sentencepiece

    buffer = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=buffer, vocab_size=vocab_size,
        model_type="unigram", character_coverage=1.0, hard_vocab_limit=False,
        minloglevel=2, num_threads=1, **options)
    return buffer.getvalue()


def _pieces(model_proto: bytes) -> list[str]:
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
    return [processor.id_to_piece(i) for i in range(processor.vocab_size())]


def _randomize(model, seed: int, keep=()) -> None:
    """Weights of unit scale: embeddings N(0,1), matrices N(0, 1/fan_in), gains 1 +- 0.1."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            if any(part in name for part in keep) or not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=generator)
            if tensor.dim() == 1 and "norm" in name and name.endswith(".weight"):
                tensor.copy_(1 + 0.1 * noise)
            elif tensor.dim() == 1 or name == "final_logits_bias":
                tensor.copy_(0.1 * noise)
            elif "embed" in name or "shared" in name or "relative_attention_bias" in name:
                tensor.copy_(noise)
            else:
                tensor.copy_(noise / tensor.shape[1] ** 0.5)


TINY = dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64,
            max_position_embeddings=128, dropout=0.1,
            # No forced end token at the length limit, so that each decoded token is the argmax
            # (test_generation_config.py checks the forced one against generate()).
            forced_eos_token_id=None)


# ---- families ---------------------------------------------------------------------------
def build_marian(folder: Path) -> None:
    """opus-mt layout: source.spm, target.spm, and vocab.json ordered unlike either .spm."""
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    english, french = CORPUS[0::2], CORPUS[1::2]
    spm_dir = folder.parent / f"{folder.name}-spm"
    spm_dir.mkdir()
    (spm_dir / "source.spm").write_bytes(train_sentencepiece(english * 3, 90))
    (spm_dir / "target.spm").write_bytes(train_sentencepiece(french * 3, 90))
    pieces = set(_pieces((spm_dir / "source.spm").read_bytes()))
    pieces |= set(_pieces((spm_dir / "target.spm").read_bytes()))
    ordinary = sorted(pieces - {"<unk>", "<s>", "</s>"})
    vocab = {"</s>": 0, "<unk>": 1} | {p: i + 2 for i, p in enumerate(ordinary)}
    vocab["<pad>"] = len(vocab)  # Marian: pad is the last id, and the decoder start
    (spm_dir / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        tokenizer = MarianTokenizer(str(spm_dir / "source.spm"), str(spm_dir / "target.spm"),
                                    str(spm_dir / "vocab.json"))
    pad = vocab["<pad>"]
    config = MarianConfig(vocab_size=len(vocab), activation_function="swish", scale_embedding=True,
                          pad_token_id=pad, decoder_start_token_id=pad, eos_token_id=0, **TINY)
    torch.manual_seed(1)
    model = MarianMTModel(config)
    _randomize(model, seed=11, keep=("embed_positions",))  # Marian's sinusoids are fixed
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_bart(folder: Path) -> None:
    """Byte-level BPE tokenizer.json trained here; learned positions, layernorm_embedding."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(CORPUS * 3, vocab_size=400, special_tokens=specials,
                                show_progress=False)
    model_json = json.loads(trainer._tokenizer.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model_json["merges"]]
    tokenizer = BartTokenizer(vocab=model_json["vocab"], merges=merges)
    config = BartConfig(vocab_size=len(model_json["vocab"]), activation_function="gelu",
                        pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
                        **TINY)
    torch.manual_seed(2)
    model = BartForConditionalGeneration(config)
    _randomize(model, seed=12)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _precompiled_charsmap(model_proto: bytes) -> bytes:
    """The normalizer table inside a SentencePiece model (protobuf field 3.2), read by hand.

    transformers would need the protobuf package to read it; the wire format is simple.
    """
    def varint(data: bytes, at: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[at]
            value |= (byte & 0x7F) << shift
            at, shift = at + 1, shift + 7
            if byte < 0x80:
                return value, at

    def fields(data: bytes):
        at = 0
        while at < len(data):
            key, at = varint(data, at)
            number, wire = key >> 3, key & 7
            if wire == 0:
                _, at = varint(data, at)
            elif wire == 1:
                at += 8
            elif wire == 5:
                at += 4
            else:  # length-delimited
                length, at = varint(data, at)
                yield number, data[at:at + length]
                at += length

    for number, value in fields(model_proto):
        if number == 3:
            return dict(fields(value)).get(2, b"")
    return b""


def t5_reference_tokenizer(proto: bytes, extra_ids: int):
    """transformers' T5 tokenizer for a SentencePiece model, sentinels last as in real T5."""
    import sentencepiece
    from transformers import T5Tokenizer

    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    vocab = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.vocab_size())]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in reversed(range(extra_ids))]
    return T5Tokenizer(vocab=vocab, extra_ids=extra_ids,
                       _spm_precompiled_charsmap=_precompiled_charsmap(proto))


def _build_t5(folder: Path, gated: bool, seed: int, multilingual: bool = False) -> None:
    from transformers import MT5Config, MT5ForConditionalGeneration, T5Config, T5ForConditionalGeneration

    proto = train_sentencepiece(CORPUS * 3, 120, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    extra_ids = 4
    tokenizer = t5_reference_tokenizer(proto, extra_ids)
    config_class, model_class = ((MT5Config, MT5ForConditionalGeneration) if multilingual
                                 else (T5Config, T5ForConditionalGeneration))
    config = config_class(
        vocab_size=len(_pieces(proto)) + extra_ids, d_model=32, d_kv=8, d_ff=64, num_layers=2,
        num_decoder_layers=2, num_heads=4, dropout_rate=0.1, decoder_start_token_id=0,
        feed_forward_proj="gated-gelu" if gated else "relu",
        **({"tie_word_embeddings": False} if gated else {}))
    torch.manual_seed(seed)
    model = model_class(config)
    _randomize(model, seed=seed + 10)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "spiece.model").write_bytes(proto)


def build_t5(folder: Path) -> None:
    """T5 v1.0: ReLU, tied head with the d_model**-0.5 output scale; tokenizer.json."""
    _build_t5(folder, gated=False, seed=3)


def build_t5_v1_1(folder: Path) -> None:
    """T5 v1.1: gated-gelu, no output scale; only spiece.model, as older downloads have.

    transformers cannot read a lone spiece.model without protobuf, so its tokenizer.json
    moves to a sibling folder that ``load_reference`` uses.
    """
    _build_t5(folder, gated=True, seed=4)
    reference = reference_tokenizer_folder(folder)
    reference.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).rename(reference / name)


def build_mt5(folder: Path) -> None:
    """mT5: the v1.1 layer under model_type "mt5", which never scales the decoder output."""
    _build_t5(folder, gated=True, seed=5, multilingual=True)


BUILDERS = {"marian": build_marian, "bart": build_bart, "t5": build_t5, "t5_v1_1": build_t5_v1_1,
            "mt5": build_mt5}
