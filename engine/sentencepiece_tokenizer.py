"""A SentencePiece model behind the engine's Tokenizer interface (Marian's and T5's own files).

Marian maps SentencePiece *pieces* to ids through its ``vocab.json`` (the ids of the .spm
file are not the model's); T5 uses the .spm ids directly and appends its sentinel tokens
(``<extra_id_0>`` is the last id). Either way ``encode`` appends ``</s>``, as both models
were trained with it. The whole tokenizer, model bytes included, round-trips through JSON
so that a saved native checkpoint stays one self-contained file.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable

import sentencepiece

from .errors import InputError
from .tokenizer import Encoding, Tokenizer

JSON_TYPE = "sentencepiece"
MAX_EXTRA_IDS = 1000  # T5 has 100 sentinels, ByT5 125; each becomes a whole-token pattern


class SentencePieceTokenizer(Tokenizer):
    """SentencePiece pieces, mapped to ids by ``vocab`` (Marian) or by the model itself (T5)."""

    kind = "SentencePiece"
    style = "metaspace"

    def __init__(self, model_proto: bytes, vocab: dict[str, int] | None = None, *,
                 eos_token: str = "</s>", unk_token: str = "<unk>", pad_token: str = "<pad>",
                 extra_ids: int = 0, language_codes: bool = False):
        self.model_proto = bytes(model_proto)
        self.processor = sentencepiece.SentencePieceProcessor()
        try:
            self.processor.LoadFromSerializedProto(self.model_proto)
        except (RuntimeError, OSError, TypeError) as error:
            raise ValueError(f"not a SentencePiece model ({error})") from None
        if vocab is not None:
            _check_vocab(vocab)
        for name, token in (("eos_token", eos_token), ("unk_token", unk_token), ("pad_token", pad_token)):
            if not isinstance(token, str):
                raise ValueError(f"{name} must be a string, got {token!r}")
        if not (isinstance(extra_ids, int) and not isinstance(extra_ids, bool)
                and 0 <= extra_ids <= MAX_EXTRA_IDS):
            raise ValueError(f"extra_ids={extra_ids!r} must be a whole number from 0 to {MAX_EXTRA_IDS}")
        self.vocab = dict(vocab) if vocab is not None else None
        self.eos_token, self.unk_token, self.pad_token = eos_token, unk_token, pad_token
        self.extra_ids = extra_ids
        self.language_codes = language_codes
        self._pieces = {i: p for p, i in self.vocab.items()} if self.vocab is not None else None
        self.eos_id = self.token_to_id(eos_token)
        self.unk_id = self.token_to_id(unk_token)
        if self.eos_id is None or self.unk_id is None:
            raise ValueError(f"the vocabulary lacks {eos_token!r} or {unk_token!r}")
        self.special_ids = {i for i in (self.eos_id, self.unk_id, self.token_to_id(pad_token))
                            if i is not None}
        self.special_ids |= {self.processor.vocab_size() + i for i in range(extra_ids)}
        self._special_tokens = {t: i for i in self.special_ids if (t := self.id_to_token(i))}
        alternatives = sorted(self._special_tokens, key=len, reverse=True)
        self._special_pattern = re.compile("(" + ("|".join(map(re.escape, alternatives)) or "(?!)") + ")")

    # ---- Tokenizer interface -------------------------------------------------------
    def encode(self, text: str) -> Encoding:
        ids: list[int] = []
        # Special tokens typed in the text ("</s>", T5's "<extra_id_0>") stay whole, as in
        # transformers; the text between them is encoded piece by piece.
        for segment in self._special_pattern.split(text):
            if segment in self._special_tokens:
                ids.append(self._special_tokens[segment])
            elif segment:
                ids.extend(self._encode_plain(segment))
        ids.append(self.eos_id)
        return Encoding(ids, self.tokens_of(ids))

    def _encode_plain(self, text: str) -> list[int]:
        prefix, text = self._split_language_code(text)
        try:
            if self.vocab is not None:
                pieces = self.processor.encode(text, out_type=str)
                return [self.vocab.get(piece, self.unk_id) for piece in prefix + pieces]
            return list(self.processor.encode(text, out_type=int))
        except (RuntimeError, TypeError, ValueError) as error:
            raise InputError(f"the SentencePiece model cannot encode {text[:40]!r} ({error})") from None

    def decode(self, ids: Iterable[int]) -> str:
        pieces = [self.id_to_token(i) for i in ids if int(i) not in self.special_ids]
        if self.vocab is not None:  # Marian: SentencePiece joins the pieces, then a trim
            return self.processor.decode_pieces(pieces).strip()
        # T5 (as its tokenizer.json does): every "▁" is a space, except a leading one.
        text = "".join(pieces).replace("▁", " ")
        return text[1:] if text.startswith(" ") else text

    def id_to_token(self, token_id: int) -> str:
        token_id = int(token_id)
        if self._pieces is not None:
            return self._pieces.get(token_id, f"<id {token_id}>")
        size = self.processor.vocab_size()
        if 0 <= token_id < size:
            return self.processor.id_to_piece(token_id)
        if size <= token_id < size + self.extra_ids:
            return f"<extra_id_{size + self.extra_ids - 1 - token_id}>"
        return f"<id {token_id}>"

    def token_to_id(self, token: str) -> int | None:
        if self.vocab is not None:
            return self.vocab.get(token)
        if token.startswith("<extra_id_") and token.endswith(">"):
            index = token[len("<extra_id_"):-1]
            if index.isdigit() and int(index) < self.extra_ids:
                return self.processor.vocab_size() + self.extra_ids - 1 - int(index)
            return None
        token_id = self.processor.piece_to_id(token)
        # piece_to_id answers the unknown id for any piece it lacks; only <unk> itself is it.
        if token_id == self.processor.unk_id() and token != self.processor.id_to_piece(token_id):
            return None
        return token_id

    @property
    def vocab_size(self) -> int:
        if self.vocab is not None:
            return max(self.vocab.values()) + 1
        return self.processor.vocab_size() + self.extra_ids

    def to_json(self) -> str:
        return json.dumps({
            "type": JSON_TYPE,
            "model": base64.b64encode(self.model_proto).decode("ascii"),
            "vocab": self.vocab,
            "eos_token": self.eos_token,
            "unk_token": self.unk_token,
            "pad_token": self.pad_token,
            "extra_ids": self.extra_ids,
            "language_codes": self.language_codes,
        })

    # ---- helpers ---------------------------------------------------------------------
    def _split_language_code(self, text: str) -> tuple[list[str], str]:
        """Multilingual Marian models take a leading ``>>fra<<``, kept as one token."""
        if self.language_codes and text.startswith(">>"):
            end = text.find("<<")
            if end != -1:
                return [text[:end + 2]], text[end + 2:]
        return [], text


def _check_vocab(vocab) -> None:
    """Marian's vocab.json: pieces mapped to whole-number ids, none negative."""
    if not isinstance(vocab, dict) or not vocab:
        raise ValueError("the vocabulary must be a non-empty JSON object of pieces and ids")
    for piece, token_id in vocab.items():
        if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id < 0:
            raise ValueError(f"vocabulary entry {piece!r}: id {token_id!r} is not a whole number >= 0")


def sentencepiece_from_json(data: dict) -> SentencePieceTokenizer:
    """Rebuild a tokenizer written by ``SentencePieceTokenizer.to_json``; ValueError if damaged."""
    model = data.get("model")
    if not isinstance(model, str):
        raise ValueError("the SentencePiece tokenizer JSON has no model text")
    try:
        proto = base64.b64decode(model, validate=True)
    except ValueError as error:  # binascii.Error
        raise ValueError(f"the SentencePiece model is not base64 ({error})") from None
    return SentencePieceTokenizer(
        proto, data.get("vocab"),
        eos_token=data.get("eos_token", "</s>"), unk_token=data.get("unk_token", "<unk>"),
        pad_token=data.get("pad_token", "<pad>"), extra_ids=data.get("extra_ids", 0),
        language_codes=bool(data.get("language_codes", False)))
