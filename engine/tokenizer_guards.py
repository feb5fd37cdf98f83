"""Guards around the tokenizers library for data read from files: its panics and bare
Exceptions become ValueError (or InputError), and what it would mishandle is found first:
a SentencePiece table claiming gigabytes, a missing unknown token, ids a post-processor adds.
"""

from __future__ import annotations

import base64
import binascii
import struct
from contextlib import contextmanager


def is_panic(error: BaseException) -> bool:
    """The tokenizers library (Rust, through pyo3) turns a panic into ``PanicException``, a
    BaseException that ``except Exception`` misses; pyo3 offers no importable name for it."""
    return type(error).__name__ == "PanicException"


@contextmanager
def library_errors(what: str, error_type: type[Exception] = ValueError):
    """Inside: a call into the tokenizers library on data from a file or a user. Its errors
    (a bare Exception, or a panic) become ``error_type`` naming ``what``; KeyboardInterrupt
    and SystemExit pass through."""
    try:
        yield
    except Exception as error:  # the library raises bare Exceptions for malformed data
        raise error_type(f"{what} ({error})") from None
    except BaseException as error:
        if not is_panic(error):
            raise
        first = (str(error).strip().splitlines() or ["a panic"])[0]
        raise error_type(f"{what} (the tokenizers library failed: {first})") from None


def unknown_token_defect(model) -> str | None:
    """A model that names an unknown token it lacks fails on the first unknown word."""
    if not isinstance(model, dict) or model.get("type") not in ("WordLevel", "WordPiece", "BPE"):
        return None
    unk, vocab = model.get("unk_token"), model.get("vocab")
    if unk is not None and isinstance(vocab, dict) and unk not in vocab:
        return (f"its {model['type']} vocabulary lacks the unknown token {unk!r}, so any word "
                "outside the vocabulary would fail")
    return None


def post_processor_ids(processor) -> list[tuple[str, int]]:
    """The (token, id) pairs a post-processor adds: TemplateProcessing's special tokens,
    BERT's and RoBERTa's cls/sep, inside any Sequence."""
    found: list[tuple[str, int]] = []
    pending = [processor]
    while pending:
        item = pending.pop()
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("processors"), list):  # a Sequence
            pending += item["processors"]
        for role in ("cls", "sep"):
            pair = item.get(role)
            if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
                found.append((str(pair[0]), pair[1]))
        specials = item.get("special_tokens")
        for token in specials.values() if isinstance(specials, dict) else ():
            if isinstance(token, dict) and isinstance(token.get("ids"), list):
                found += [(str(token.get("id")), i) for i in token["ids"] if isinstance(i, int)]
    return found


def check_precompiled(normalizer) -> None:
    """A SentencePiece ``Precompiled`` normalizer's table: [u32 trie bytes][trie][strings].

    The library reserves the length the first four bytes claim before it reads the trie, so
    garbage there asks for gigabytes: the claim must fit in the table.
    """
    pending = [normalizer]
    while pending:
        item = pending.pop()
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("normalizers"), list):  # a Sequence
            pending += item["normalizers"]
        if item.get("type") != "Precompiled" or item.get("precompiled_charsmap") is None:
            continue
        try:
            table = base64.b64decode(item["precompiled_charsmap"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValueError("the Precompiled normalizer's table is not base64") from None
        trie = struct.unpack("<I", table[:4])[0] if len(table) >= 4 else None
        if trie is None or trie % 4 or 4 + trie > len(table):
            raise ValueError(f"the Precompiled normalizer's table is damaged: it claims "
                             f"{trie} bytes of trie in {len(table)} bytes")


def check_vocab_ids(vocab, added, vocab_size: int) -> None:
    """Every id a vocabulary (token -> id) or its added tokens name is a row of the model's
    token table. The library serialises a vocabulary by walking every id up to the largest,
    so one id of 10⁹ would take it minutes and gigabytes: checked before it sees them."""
    entries = list(vocab.items()) if isinstance(vocab, dict) else []
    entries += [(t.get("content"), t.get("id")) for t in added if isinstance(t, dict)] \
        if isinstance(added, list) else []
    wrong = [(token_id, str(token)) for token, token_id in entries
             if isinstance(token_id, int) and not isinstance(token_id, bool)
             and not 0 <= token_id < vocab_size]
    if wrong:
        token_id, token = max(wrong)
        more = f" (and {len(wrong) - 1} more ids past it)" if len(wrong) > 1 else ""
        raise ValueError(f"token {token!r} has id {token_id}, but the model's token table has "
                         f"{vocab_size} rows (vocab_size){more}: the tokenizer does not belong "
                         "to this model")
