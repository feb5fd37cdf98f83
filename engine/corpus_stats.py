"""Head statistics over a corpus: each statistic of ``engine.head_stats``, as a mean over inputs.

    lines = engine.corpus_file.read_corpus("sentences.txt")   # one input a line; "source<TAB>target"
    result = corpus_head_stats(model, lines, "cross", progress=print, cancelled=lambda: False)
    result.of("cross")["entropy"]                   # [layers, heads]: the mean over the inputs

Every statistic is the mean of the per-input statistics (each input weighs the same, however
long it is). A statistic that is undefined for an input (``induction`` when no token comes back,
``previous_token`` on a one-token input) is left out of that mean: ``counts`` says how many
inputs each mean is over, and a head with none is NaN.

Each input is run as ``model.run`` would run it (a line without a target is decoded greedily by
an encoder-decoder; a decoder-only model reads the prompt alone), but in batches: inputs of one
source length are decoded together, and recorded together with their targets padded on the right,
which causality hides from every real position. Only the attention patterns are recorded.

A line the model cannot take (too long, a word the word-level tokenizer does not know, a target
for an encoder-only model) is skipped and reported by its number in ``problems``; the run goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .corpus_file import CorpusLine, parse_lines
from .decoding import greedy_decode
from .errors import InputError
from .head_stats import STATISTICS, pattern_stats
from .hooks import interventions
from .kinds import KINDS
from .memory_guard import check_run, check_text
from .tokenizer import WORD_PATTERN

BATCH_SIZE = 32  # inputs run together; Cancel waits for one batch at most
READ_STEP = 256  # lines tokenized between two progress reports (and cancel checks)


class CorpusCancelled(Exception):
    """The caller's ``cancelled()`` said stop; nothing was computed."""


@dataclass(frozen=True, eq=False)  # compared by identity: it holds arrays
class CorpusStats:
    """Mean head statistics of ``n_inputs`` inputs, per attention kind.

    ``stats[kind][name]`` and ``counts[kind][name]`` (inputs in that mean) are ``[layers, heads]``.
    ``problems`` lists the skipped lines ("line 7: …"). ``alignment`` is the cross-attention
    heads' alignment accuracy against gold alignments, when the inputs came with them.
    """

    stats: dict[str, dict[str, np.ndarray]]
    counts: dict[str, dict[str, np.ndarray]]
    n_inputs: int
    problems: tuple[str, ...] = ()
    name: str = ""  # where the inputs came from: a file name, "500 generated sentences"
    model_name: str = ""
    alignment: np.ndarray | None = None
    aligned_words: int = 0
    extra: dict = field(default_factory=dict)  # metadata of the source (seed, task)
    ablated: tuple[tuple[str, int, int], ...] = ()  # the heads zeroed in every run of the corpus

    def of(self, kind: str) -> dict[str, np.ndarray]:
        if kind not in self.stats:
            raise ValueError(f"these corpus statistics have no {kind!r} heads; they have "
                             f"{', '.join(self.stats)}")
        return self.stats[kind]

    @property
    def description(self) -> str:
        """"mean over 500 inputs (sentences.txt)"."""
        where = f" ({self.name})" if self.name else ""
        return f"mean over {self.n_inputs} input{'s' * (self.n_inputs != 1)}{where}"


# ---- running ----------------------------------------------------------------------------------
@dataclass
class _Input:
    number: int
    source_ids: list[int]
    target_ids: list[int] | None  # None: to be decoded
    alignment: tuple | None = None


def corpus_head_stats(model, lines: Sequence, kind: str | None = None, *,
                      progress: Callable[[int, int], None] | None = None,
                      cancelled: Callable[[], bool] | None = None, ablate=(), name: str = "",
                      alignments: Sequence | None = None, batch_size: int = BATCH_SIZE) -> CorpusStats:
    """Mean head statistics of ``model`` over ``lines`` (``CorpusLine``s, or text lines).

    ``kind``: one attention kind (or a tuple of them), or None for every kind the model has.
    ``progress(done, total)`` is called after each batch, and ``cancelled()`` before each (True
    raises CorpusCancelled).
    ``alignments`` (one gold alignment per line, as ``engine.tasks.Pair`` has them) adds the
    cross-attention heads' alignment accuracy. InputError when no line can be run.
    """
    kinds = model.kinds if kind is None else (kind,) if isinstance(kind, str) else tuple(kind)
    for k in kinds:
        if k not in model.kinds:
            raise InputError(f"kind {k!r} is not in {model.name}; it has {', '.join(model.kinds)}")
    if lines and isinstance(lines[0], str):
        lines = parse_lines(lines)
    ablated = model._check_ablation(ablate)
    # Progress counts each line read, each input decoded and each recorded; a skipped line's
    # later steps leave the total.
    decodes = model.config.architecture == "encoder-decoder"
    total = 2 * len(lines) + (sum(line.target is None for line in lines) if decodes else 0)
    done = 0

    def step(count: int, dropped: int = 0) -> None:
        nonlocal done, total
        done, total = done + count, total - dropped
        if progress is not None and count:
            progress(done, total)

    def check() -> None:
        if cancelled is not None and cancelled():
            raise CorpusCancelled("cancelled")

    problems, inputs = [], []
    sizes: dict = {}  # the size check's verdict by lengths: many lines share them
    reported = 0
    check()
    for index, line in enumerate(lines):
        if index - reported == READ_STEP:
            check()
            step(index - reported)
            reported = index
        try:
            item = _prepare(model, line, sizes)
        except InputError as error:
            problems.append(f"line {line.number}: {error}")
            step(0, dropped=1 + (decodes and line.target is None))
            continue
        if alignments is not None:
            item.alignment = alignments[index]
        inputs.append(item)
    step(len(lines) - reported)
    if not inputs:
        raise InputError("no line of the corpus could be run: " + "; ".join(problems[:3]))

    to_decode = [item for item in inputs if item.target_ids is None]
    for chunk in _chunks(to_decode, batch_size, key=lambda item: (len(item.source_ids),)):
        check()
        _decode(model, chunk, ablated)
        step(len(chunk))
    accumulator = _Accumulator(model, kinds)
    for chunk in _chunks(inputs, batch_size, key=lambda item: (len(item.source_ids), len(item.target_ids))):
        check()
        accumulator.add(chunk, _record(model, chunk, kinds, ablated))
        step(len(chunk))
    return replace(accumulator.result(problems, name, len(inputs)), ablated=ablated)


def _prepare(model, line: CorpusLine, sizes: dict) -> _Input:
    """Token ids as ``model.run`` makes them; InputError for a line it would refuse."""
    config = model.config
    source_ids, _ = model._encode_source(line.source)
    _check_known(model.tokenizer, source_ids, line.source)
    if config.architecture == "encoder-only":
        if line.target:
            raise InputError("an encoder-only model takes no target text")
        _check_size(model, sizes, len(source_ids), 0)
        return _Input(line.number, source_ids, [])
    if config.architecture == "decoder-only":  # the prompt alone, or prompt and continuation
        ids = model._continue_prompt(line.source, source_ids, line.target) if line.target else source_ids
        _check_known(model.tokenizer, ids, f"{line.source} {line.target or ''}")
        model._check_length(ids, "prompt")
        _check_size(model, sizes, 0, len(ids))
        return _Input(line.number, [], list(ids))
    if line.target is None:
        steps = model._decode_steps(1, config.max_decode_length)
        _check_size(model, sizes, len(source_ids), 1 + steps, steps)
        return _Input(line.number, source_ids, None)
    check_text(line.target, "target text")
    target_ids = [config.decoder_start_token_id] + model.target_tokenizer.encode(line.target).ids
    _check_known(model.target_tokenizer, target_ids, line.target)
    model._check_length(target_ids, "target")
    _check_size(model, sizes, len(source_ids), len(target_ids))
    return _Input(line.number, source_ids, target_ids)


def _check_size(model, sizes: dict, source_len: int, target_len: int, decode_steps: int = 0) -> None:
    """``check_run`` as ``model.run`` applies it (about 1 ms), once per distinct lengths."""
    key = (source_len, target_len, decode_steps)
    if key not in sizes:
        try:
            check_run(model, source_len, target_len, record=True, decode_steps=decode_steps)
            sizes[key] = ""
        except InputError as error:
            sizes[key] = str(error)
    if sizes[key]:
        raise InputError(sizes[key])


def _check_known(tokenizer, ids: list[int], text: str) -> None:
    """A word-level tokenizer reads a word it does not know as <unk>: that line would mislead."""
    unknown_id = tokenizer.token_to_id("<unk>")
    if unknown_id is None or unknown_id not in ids:
        return
    words = [word for word in dict.fromkeys(re.findall(WORD_PATTERN, text.lower()))
             if tokenizer.token_to_id(word) is None] if tokenizer.kind == "word-level" else []
    named = ", ".join(repr(w) for w in words[:5]) if words else "some of its characters"
    raise InputError(f"the tokenizer does not know {named} (it would read <unk>)")


def _chunks(items: list, size: int, key) -> list[list]:
    """Batches of at most ``size`` items, sorted by ``key`` (a tuple); a batch shares ``key[0]``."""
    chunks: list[list] = []
    for item in sorted(items, key=key):
        last = chunks[-1] if chunks else None
        if last is None or len(last) == size or key(last[0])[0] != key(item)[0]:
            chunks.append([])
        chunks[-1].append(item)
    return chunks


def _decode(model, chunk: list[_Input], ablated) -> None:
    """Greedy targets for inputs of one source length, as ``model.run(source)`` decodes them."""
    config = model.config
    steps = model._decode_steps(1, config.max_decode_length)
    source = torch.tensor([item.source_ids for item in chunk])
    prefix = torch.full((len(chunk), 1), config.decoder_start_token_id)
    with model._run_lock, interventions(model.module, ablate=ablated):
        generated = greedy_decode(model.module, source, prefix, steps, config.eos_token_id)
    for item, tokens in zip(chunk, generated, strict=True):
        item.target_ids = [config.decoder_start_token_id] + tokens


def _record(model, chunk: list[_Input], kinds, ablated) -> dict[str, torch.Tensor]:
    """``{kind: [layers, batch, heads, q, k]}`` patterns of one batch (targets right-padded)."""
    names = {kind: [KINDS[kind].hook.format(i) + ".pattern" for i in range(model.n_layers(kind))]
             for kind in kinds}
    pad = model.config.pad_token_id or 0
    width = max(len(item.target_ids) for item in chunk)
    source = torch.tensor([item.source_ids for item in chunk]) if chunk[0].source_ids else None
    target = torch.tensor([item.target_ids + [pad] * (width - len(item.target_ids)) for item in chunk]) \
        if width else None
    wanted = [n for listed in names.values() for n in listed]
    with model._run_lock, interventions(model.module, record=wanted, ablate=ablated) as hooks, \
            torch.inference_mode():
        model.module(source, target)
    return {kind: torch.stack([hooks.values[n] for n in listed]) for kind, listed in names.items()}


class _Accumulator:
    """Sums of per-input statistics (NaN left out) and how many inputs each sum holds."""

    def __init__(self, model, kinds):
        heads = model.config.n_heads
        self.model_name = model.name
        self.sums = {k: {s: np.zeros((model.n_layers(k), heads)) for s in STATISTICS} for k in kinds}
        self.counts = {k: {s: np.zeros((model.n_layers(k), heads), dtype=np.int64) for s in STATISTICS}
                       for k in kinds}
        self.hits = None
        self.aligned_words = 0

    def add(self, chunk: list[_Input], patterns: dict[str, torch.Tensor]) -> None:
        for kind, stack in patterns.items():
            stack = stack.double().numpy()  # [layers, batch, heads, q, k]
            for row, item in enumerate(chunk):
                queries, keys = _lengths(kind, item)
                attention = stack[:, row, :, :queries, :keys]
                self_attention = kind != "cross"
                tokens = None if not self_attention else \
                    item.source_ids if kind == "encoder" else item.target_ids
                for name, values in pattern_stats(attention, tokens, self_attention=self_attention).items():
                    defined = ~np.isnan(values)
                    self.sums[kind][name] += np.where(defined, values, 0.0)
                    self.counts[kind][name] += defined
                if kind == "cross" and item.alignment is not None:
                    self._align(attention, item.alignment)

    def _align(self, cross: np.ndarray, alignment) -> None:
        """Target word j (decoder row j predicts it) is a hit where the row's argmax is a gold word."""
        if self.hits is None:
            self.hits = np.zeros(cross.shape[:2])
        pointed = cross.argmax(axis=-1)  # [layers, heads, queries]
        for j, gold in enumerate(alignment):
            if gold:
                self.aligned_words += 1
                self.hits += np.isin(pointed[:, :, j], gold)

    def result(self, problems: list[str], name: str, n_inputs: int) -> CorpusStats:
        stats = {kind: {s: np.where(self.counts[kind][s] > 0,
                                    self.sums[kind][s] / np.maximum(self.counts[kind][s], 1),
                                    np.nan).astype(np.float32) for s in STATISTICS}
                 for kind in self.sums}
        alignment = None if self.hits is None else (self.hits / max(self.aligned_words, 1)).astype(np.float32)
        return CorpusStats(stats, self.counts, n_inputs, tuple(problems), name, self.model_name,
                           alignment, self.aligned_words)


def _lengths(kind: str, item: _Input) -> tuple[int, int]:
    if kind == "encoder":
        return len(item.source_ids), len(item.source_ids)
    return len(item.target_ids), len(item.target_ids) if kind == "decoder" else len(item.source_ids)
