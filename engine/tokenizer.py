"""Tokenizers: a small interface, implemented on the Hugging Face ``tokenizers`` library.

A tokenizer's JSON is embedded in every native checkpoint, so a checkpoint is one file.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers import Tokenizer as HFTokenizersBackend

from . import safe_json
from .config import SIZE_LIMITS
from .errors import InputError
from .tokenizer_guards import (
    check_precompiled,
    check_vocab_ids,
    library_errors,
    post_processor_ids,
    unknown_token_defect,
)

MAX_VOCAB = SIZE_LIMITS["vocab_size"][1]  # the bound on ids where the model's is not known

SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")  # ids 0..3 in tokenizers built here
# Words, French elisions ("l'", "qu'") kept whole, and single punctuation marks.
WORD_PATTERN = r"\w+'(?=\w)|\w+|[^\w\s]"


@dataclass(frozen=True)
class Encoding:
    """Token ids and the token strings the user sees, position by position."""

    ids: list[int]
    tokens: list[str]


class Tokenizer(ABC):
    """What the engine needs of a tokenizer. ``encode`` adds the model's own special tokens."""

    kind: str = "tokenizer"  # shown to the user, e.g. "word-level", "BPE", "SentencePiece"
    style: str = "plain"  # how its pieces read: one of engine.readable_tokens.STYLES

    @abstractmethod
    def encode(self, text: str) -> Encoding: ...

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """Text for ``ids``, special tokens dropped."""

    @abstractmethod
    def id_to_token(self, token_id: int) -> str: ...

    @abstractmethod
    def token_to_id(self, token: str) -> int | None: ...

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def to_json(self) -> str:
        """A JSON string from which ``tokenizer_from_json`` rebuilds this tokenizer."""

    def tokens_of(self, ids: Iterable[int]) -> list[str]:
        return [self.id_to_token(int(i)) for i in ids]

    def largest_id(self) -> tuple[str, int]:
        """The token with the largest id ``encode`` can produce, and that id."""
        last = self.vocab_size - 1
        return self.id_to_token(last), last

    def defect(self) -> str | None:
        """Why some text could not be encoded at all (a missing unknown token), or None."""
        return None


class HFTokenizer(Tokenizer):
    """A ``tokenizers.Tokenizer`` (word-level, BPE, Unigram, WordPiece) behind our interface."""

    def __init__(self, backend: HFTokenizersBackend, kind: str | None = None,
                 data: dict | None = None):
        """``data``: the tokenizer's JSON, when the caller has parsed it already."""
        self.backend = backend
        # Truncation or padding saved in a tokenizer.json (sentence-transformers folders pad to
        # 128) would silently change the input; transformers also turns them off per call.
        backend.no_truncation()
        backend.no_padding()
        if data is None:
            data = safe_json.loads_object(backend.to_str(), "the tokenizer")
        self._defect = unknown_token_defect(data.get("model"))
        self.style = _piece_style(data, backend)
        self._post_processor_ids = post_processor_ids(data.get("post_processor"))
        self.kind = kind or _describe_model(backend) + (" (byte-level)" if self.style == "byte-level" else "")

    def encode(self, text: str) -> Encoding:
        with library_errors(f"the tokenizer cannot encode {_excerpt(text)}", InputError):
            encoded = self.backend.encode(text)
        # A Unigram model reports an unknown span's own text as its token; show what the
        # model receives instead ("<unk>"), as every other tokenizer here does.
        tokens = [self.backend.id_to_token(i) or token
                  for i, token in zip(encoded.ids, encoded.tokens, strict=True)]
        return Encoding(list(encoded.ids), tokens)

    def decode(self, ids: Iterable[int]) -> str:
        ids = [int(i) for i in ids]
        with library_errors(f"the tokenizer cannot decode ids {ids[:8]}", InputError):
            text = self.backend.decode(ids, skip_special_tokens=True)
        if isinstance(self.backend.model, models.WordLevel):
            text = _join_words(text)
        return text

    def id_to_token(self, token_id: int) -> str:
        token = self.backend.id_to_token(int(token_id))
        return token if token is not None else f"<id {token_id}>"

    def token_to_id(self, token: str) -> int | None:
        return self.backend.token_to_id(token)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def defect(self) -> str | None:
        return self._defect

    def largest_id(self) -> tuple[str, int]:
        """Ids need not be dense (a vocabulary may skip numbers), and a post-processor may add
        ids of its own: the largest of all of them."""
        vocab = self.backend.get_vocab(with_added_tokens=True)
        candidates = [(i, token) for token, i in vocab.items()] or [(-1, "")]
        candidates += [(i, f"{token} (post-processor)") for token, i in self._post_processor_ids]
        token_id, token = max(candidates)
        return token, token_id

    def to_json(self) -> str:
        return self.backend.to_str()


def _excerpt(text) -> str:
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _describe_model(backend: HFTokenizersBackend) -> str:
    return {
        "WordLevel": "word-level",
        "BPE": "BPE",
        "Unigram": "Unigram (SentencePiece)",
        "WordPiece": "WordPiece",
    }.get(type(backend.model).__name__, type(backend.model).__name__)


def _piece_style(data: dict, backend: HFTokenizersBackend) -> str:
    """"byte-level", "metaspace", "wordpiece" or "plain": how this tokenizer marks its pieces."""
    parts = json.dumps([data.get("pre_tokenizer"), data.get("decoder"), data.get("normalizer")])
    if '"ByteLevel"' in parts:
        return "byte-level"
    if '"Metaspace"' in parts or "\\u2581" in parts:  # Llama-2 style: Replace " " -> "▁"
        return "metaspace"
    if isinstance(backend.model, models.WordPiece):
        return "wordpiece"
    return "plain"


def _join_words(text: str) -> str:
    """Undo word-level spacing: no space before punctuation or after an elision."""
    text = re.sub(r" ([.,;:!?)])", r"\1", text)
    text = re.sub(r"(\w') ", r"\1", text)
    text = re.sub(r"(\d) - (?=\d)", r"\1-", text)  # ISO dates: "2022-03-05"
    return text


def _finish(backend: HFTokenizersBackend, lowercase: bool, append_eos: bool,
            prepend_bos: bool) -> HFTokenizersBackend:
    steps = [normalizers.NFC()] + ([normalizers.Lowercase()] if lowercase else [])
    backend.normalizer = normalizers.Sequence(steps)
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    template = ("<s> " if prepend_bos else "") + "$A" + (" </s>" if append_eos else "")
    backend.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[("<s>", 2), ("</s>", 3)])
    return backend


def word_level_tokenizer(words: Iterable[str], *, lowercase: bool = True, append_eos: bool = True,
                         prepend_bos: bool = False) -> HFTokenizer:
    """One id per word; specials ``<pad> <unk> <s> </s>`` are ids 0-3; unknown words -> ``<unk>``."""
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    for word in words:
        word = word.lower() if lowercase else word
        vocab.setdefault(word, len(vocab))
    backend = HFTokenizersBackend(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated"),
    ])
    return HFTokenizer(_finish(backend, lowercase, append_eos, prepend_bos), "word-level")


def bpe_tokenizer(texts: Iterable[str], vocab_size: int, *, lowercase: bool = False,
                  append_eos: bool = True, prepend_bos: bool = False) -> HFTokenizer:
    """A BPE tokenizer trained on ``texts``; words start with the visible marker "▁"."""
    backend = HFTokenizersBackend(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS))
    backend.train_from_iterator(texts, trainer)
    return HFTokenizer(_finish(backend, lowercase, append_eos, prepend_bos), "BPE")


# Other tokenizer families (e.g. Marian's SentencePiece pair) register a loader for their
# JSON "type" here; plain ``tokenizers`` JSON needs no type.
TOKENIZER_LOADERS: dict[str, Callable[[dict], Tokenizer]] = {}


def _load_sentencepiece(data: dict) -> Tokenizer:
    # Imported on demand: only checkpoints that carry a SentencePiece model need it.
    from .sentencepiece_tokenizer import sentencepiece_from_json

    return sentencepiece_from_json(data)


TOKENIZER_LOADERS["sentencepiece"] = _load_sentencepiece


def tokenizer_from_json(text: str, vocab_size: int | None = None) -> Tokenizer:
    """Rebuild a tokenizer from ``Tokenizer.to_json()``; raises ValueError on anything else.

    ``vocab_size``: the model's token table, which no id may pass (checked before the
    tokenizers library reads them).
    """
    data = safe_json.loads(text)
    kind = data.get("type") if isinstance(data, dict) else None
    if isinstance(kind, str) and kind in TOKENIZER_LOADERS:
        return TOKENIZER_LOADERS[kind](data)
    if isinstance(data, dict) and "model" in data:
        return hf_tokenizer_from_str(text, vocab_size=vocab_size)
    raise ValueError(f"unknown tokenizer JSON (type {kind!r})")


def hf_tokenizer_from_str(text: str, kind: str | None = None,
                          vocab_size: int | None = None) -> HFTokenizer:
    """A tokenizers-library JSON document (tokenizer.json); ValueError if it cannot be used.

    ``vocab_size``: the model's token table, which no id may pass.
    """
    data = safe_json.loads_object(text, "the tokenizer JSON")
    check_precompiled(data.get("normalizer"))
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    check_vocab_ids(model.get("vocab"), data.get("added_tokens"), vocab_size or MAX_VOCAB)
    with library_errors("unusable tokenizer JSON"):
        backend = HFTokenizersBackend.from_str(text)
    return HFTokenizer(backend, kind, data)
