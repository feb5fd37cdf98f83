"""Tokenizers from a Hugging Face folder's vocabulary files, built the way transformers builds them.

A folder carries ``tokenizer.json`` (read as it is, through ``hf_files.tokenizer_json``), or only
the files of its tokenizer class: ``vocab.json`` + ``merges.txt`` for byte-level BPE (GPT-2,
RoBERTa, BART). A family supplies what differs between those classes: its default special
tokens and its post-processor (GPT-2 adds nothing, RoBERTa ``<s> $A </s>``). Other vocabulary
formats (WordPiece ``vocab.txt``) get a builder of their own beside ``byte_level_files``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tokenizers import AddedToken, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers import Tokenizer as Backend

from .. import safe_json
from ..errors import CheckpointError
from ..tokenizer import MAX_VOCAB, HFTokenizer
from ..tokenizer_guards import check_vocab_ids, library_errors
from .hf_files import tokenizer_json

# The named special tokens of tokenizer_config.json, in the order transformers adds them.
SPECIAL_ROLES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                 "mask_token")
BYTE_LEVEL_KIND = "BPE (byte-level)"

# (backend with its special tokens added, tokenizer_config.json) -> post-processor or None.
PostProcessor = Callable[[Backend, dict], object]


# ---- special tokens ---------------------------------------------------------------
def _added_token(value, special: bool = True) -> AddedToken | None:
    """A token as tokenizer_config.json writes it: a string, or a dict with its flags."""
    if isinstance(value, str):
        return AddedToken(value, special=special, normalized=not special)
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return AddedToken(value["content"], single_word=bool(value.get("single_word", False)),
                          lstrip=bool(value.get("lstrip", False)),
                          rstrip=bool(value.get("rstrip", False)),
                          normalized=bool(value.get("normalized", not special)),
                          special=bool(value.get("special", special)))
    return None


def special_token(settings: dict, role: str, defaults: dict[str, str]) -> str | None:
    """The content of a named special token (``"eos_token"``): the folder's, else the family's.

    An explicit null in tokenizer_config.json (``"pad_token": null``) means none.
    """
    if role not in settings:
        return defaults.get(role)
    token = _added_token(settings[role])
    return token.content if token is not None else None


def added_tokens(settings: dict, defaults: dict[str, str]) -> list[AddedToken]:
    """Every added token: ``added_tokens_decoder`` in id order, then the named special tokens."""
    tokens: list[AddedToken] = []
    decoder = settings.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        numbered = sorted((int(i), v) for i, v in decoder.items() if i.isascii() and i.isdigit())
        tokens += [t for _, v in numbered if (t := _added_token(v)) is not None]
    for role in SPECIAL_ROLES:
        token = _added_token(settings.get(role, defaults.get(role)))
        if token is not None and all(t.content != token.content for t in tokens):
            tokens.append(token)
    return tokens


# ---- byte-level BPE -----------------------------------------------------------------
def byte_level_files(folder: Path, settings: dict, defaults: dict[str, str],
                     post_processor: PostProcessor | None = None,
                     vocab_size: int | None = None) -> HFTokenizer:
    """Byte-level BPE from ``vocab.json`` + ``merges.txt``, as transformers' GPT-2 and RoBERTa
    classes build it: no normalizer, a ByteLevel pre-tokenizer that adds a leading space only
    when tokenizer_config.json says ``add_prefix_space``, a ByteLevel decoder, and no unknown
    token in the model (every byte has a piece)."""
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    check_vocab_file(vocab, vocab_size)
    safe_json.check_file(merges)
    try:
        with library_errors("unreadable vocab.json/merges.txt"):
            model = models.BPE.from_file(str(vocab), str(merges), dropout=None,
                                         continuing_subword_prefix="", end_of_word_suffix="",
                                         fuse_unk=False)
        with library_errors("unusable special tokens in tokenizer_config.json"):
            backend = Backend(model)
            backend.pre_tokenizer = pre_tokenizers.ByteLevel(
                add_prefix_space=bool(settings.get("add_prefix_space", False)))
            backend.decoder = decoders.ByteLevel()
            backend.add_special_tokens(added_tokens(settings, defaults))
            processor = post_processor(backend, settings) if post_processor is not None else None
            if processor is not None:
                backend.post_processor = processor
    except ValueError as error:
        raise CheckpointError(f"{folder.name}: {error}") from None
    return HFTokenizer(backend, BYTE_LEVEL_KIND)


def check_vocab_file(path: Path, vocab_size: int | None) -> None:
    """vocab.json, read as the guarded JSON it is, before the library reads it: no id may pass
    the model's token table."""
    try:
        check_vocab_ids(safe_json.read_json_object(path), [], vocab_size or MAX_VOCAB)
    except ValueError as error:
        raise CheckpointError(f"{safe_json.file_label(path)}: {error}") from None


def set_prefix_space(tokenizer: HFTokenizer, settings: dict) -> None:
    """Give a tokenizer.json's plain ByteLevel pre-tokenizer the folder's ``add_prefix_space``.

    transformers' byte-level classes rebuild that pre-tokenizer from tokenizer_config.json
    (default False), whatever tokenizer.json says, so this is what the model was used with.
    """
    pre_tokenizer = tokenizer.backend.pre_tokenizer
    if isinstance(pre_tokenizer, pre_tokenizers.ByteLevel):
        pre_tokenizer.add_prefix_space = bool(settings.get("add_prefix_space", False))
        tokenizer.backend.pre_tokenizer = pre_tokenizer


def bos_eos_template(backend: Backend, settings: dict, defaults: dict[str, str],
                     add_bos: bool = False, add_eos: bool = False) -> processors.TemplateProcessing:
    """``[bos] $A [eos]`` as the folder's ``add_bos_token`` / ``add_eos_token`` ask, else as the
    family's ``add_bos``/``add_eos``: transformers' post-processor for files without one."""
    single: list[str] = ["$A"]
    specials: list[tuple[str, int]] = []
    for role, flag, default in (("bos_token", "add_bos_token", add_bos),
                                ("eos_token", "add_eos_token", add_eos)):
        content = special_token(settings, role, defaults)
        token_id = backend.token_to_id(content) if content else None
        if not settings.get(flag, default) or token_id is None:
            continue
        single = [content, *single] if role == "bos_token" else [*single, content]
        if (content, token_id) not in specials:
            specials.append((content, token_id))
    return processors.TemplateProcessing(single=single, special_tokens=specials)


def byte_level_tokenizer(folder: Path, family: str, settings: dict, defaults: dict[str, str],
                         post_processor: PostProcessor | None = None,
                         vocab_size: int | None = None) -> HFTokenizer:
    """tokenizer.json if the folder has one, else vocab.json + merges.txt."""
    tokenizer = tokenizer_json(folder, vocab_size)
    if tokenizer is not None:
        set_prefix_space(tokenizer, settings)
        return tokenizer
    if not ((folder / "vocab.json").exists() and (folder / "merges.txt").exists()):
        raise CheckpointError(f"{folder.name}: {family} needs tokenizer.json (or vocab.json and "
                              "merges.txt) in the model folder")
    return byte_level_files(folder, settings, defaults, post_processor, vocab_size)


# ---- WordPiece (BERT, DistilBERT) ---------------------------------------------------
WORDPIECE_DEFAULTS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                      "cls_token": "[CLS]", "mask_token": "[MASK]"}
# transformers' WordPiece classes rebuild the tokenizer from its vocabulary; a folder naming
# another class (PreTrainedTokenizerFast) is read through its tokenizer.json as saved.
WORDPIECE_CLASSES = (None, "BertTokenizer", "BertTokenizerFast", "DistilBertTokenizer",
                     "DistilBertTokenizerFast")


def wordpiece_tokenizer(folder: Path, family: str, settings: dict,
                        vocab_size: int | None = None) -> HFTokenizer:
    """What transformers' BertTokenizer builds for the folder.

    It keeps only the vocabulary of ``tokenizer.json`` (or ``vocab.txt``) and rebuilds the rest
    from tokenizer_config.json: a BertNormalizer that lowercases unless ``do_lower_case`` is
    false (whatever tokenizer.json's own normalizer says), BertPreTokenizer, WordPiece with
    "##" and at most 100 characters a word, "[CLS] $A [SEP]", and the special tokens added
    whole, so a typed "[MASK]" stays one token.
    """
    if settings.get("tokenizer_class") not in WORDPIECE_CLASSES:
        tokenizer = tokenizer_json(folder, vocab_size)
        if tokenizer is not None:
            return tokenizer
    vocab, file_tokens = _wordpiece_vocab(folder, family)
    if vocab is None:  # tokenizer.json with another model: read as it is
        return tokenizer_json(folder, vocab_size)
    try:
        check_vocab_ids(vocab, [], vocab_size or MAX_VOCAB)
    except ValueError as error:
        raise CheckpointError(f"{folder.name}: {error}") from None
    unk = special_token(settings, "unk_token", WORDPIECE_DEFAULTS) or "[UNK]"
    strip_accents = settings.get("strip_accents")
    try:
        with library_errors(f"unusable {family} vocabulary or tokenizer_config.json"):
            backend = Backend(models.WordPiece(vocab, unk_token=unk, max_input_chars_per_word=100))
            backend.normalizer = normalizers.BertNormalizer(
                clean_text=True, handle_chinese_chars=bool(settings.get("tokenize_chinese_chars", True)),
                strip_accents=strip_accents if strip_accents is None else bool(strip_accents),
                lowercase=bool(settings.get("do_lower_case", True)))
            backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            backend.decoder = decoders.WordPiece(prefix="##")
            tokens = added_tokens(settings, WORDPIECE_DEFAULTS)
            if "added_tokens_decoder" not in settings:  # older folders list them only in tokenizer.json
                tokens += [t for t in file_tokens if all(t.content != s.content for s in tokens)]
            backend.add_special_tokens([t for t in tokens if t.special])
            backend.add_tokens([t for t in tokens if not t.special])
            backend.post_processor = _cls_sep_template(backend, settings)
    except ValueError as error:
        raise CheckpointError(f"{folder.name}: {error}") from None
    return HFTokenizer(backend, "WordPiece")


def _wordpiece_vocab(folder: Path, family: str) -> tuple[dict | None, list[AddedToken]]:
    """The vocabulary and the added tokens of tokenizer.json, else of vocab.txt (one per line)."""
    path = folder / "tokenizer.json"
    if path.exists():
        data = safe_json.read_json_object(path)
        model = data.get("model")
        if not isinstance(model, dict):
            raise CheckpointError(f"{safe_json.file_label(path)}: unreadable tokenizer file "
                                  "(no \"model\" object)")
        if model.get("type", "WordPiece") != "WordPiece" or not isinstance(model.get("vocab"), dict):
            return None, []
        listed = data.get("added_tokens") if isinstance(data.get("added_tokens"), list) else []
        tokens = [t for item in listed if isinstance(item, dict) and (t := _added_token(item)) is not None]
        return model["vocab"], tokens
    path = folder / "vocab.txt"
    if not path.exists():
        raise CheckpointError(f"{folder.name}: {family} needs tokenizer.json or vocab.txt "
                              "in the model folder")
    safe_json.check_file(path)
    try:
        with library_errors("unreadable vocabulary"):
            return models.WordPiece.read_file(str(path)), []
    except ValueError as error:
        raise CheckpointError(f"{safe_json.file_label(path)}: {error}") from None


def _cls_sep_template(backend: Backend, settings: dict) -> processors.TemplateProcessing:
    cls = special_token(settings, "cls_token", WORDPIECE_DEFAULTS) or "[CLS]"
    sep = special_token(settings, "sep_token", WORDPIECE_DEFAULTS) or "[SEP]"
    cls_id, sep_id = backend.token_to_id(cls), backend.token_to_id(sep)
    return processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, 2 if cls_id is None else cls_id), (sep, 3 if sep_id is None else sep_id)])
