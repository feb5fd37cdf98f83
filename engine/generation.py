"""GenerationSettings: how a model's greedy decode is steered, as transformers' generate() does it.

A Hugging Face folder's ``generation_config.json`` (or, without one, ``config.json``) may list
several end tokens, force a first or a last token, and ban words. ``scores_for_step`` applies
those rules to one step's logits in the order of transformers' logits processors, so that a
greedy decode equals ``generate(num_beams=1, do_sample=False, max_new_tokens=budget)`` token
for token. Sampling and beam settings are never followed: the engine's decode is greedy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

LENGTH_LIMIT = 2**24  # far beyond any model's context; a run is sized by memory_guard anyway


@dataclass
class GenerationSettings:
    """Greedy-decoding rules; the defaults change nothing (a model trained here)."""

    # Every token that ends a decode; None: the model's own eos_token_id alone.
    eos_token_ids: list[int] | None = None
    forced_bos_token_id: int | None = None  # the first token after the start token, always
    forced_eos_token_ids: list[int] = field(default_factory=list)  # the token at the length limit
    # Sequences of two or more ids never completed (single ids live in suppressed_token_ids).
    bad_words_ids: list[list[int]] = field(default_factory=list)
    begin_suppress_tokens: list[int] = field(default_factory=list)  # never the first new token
    min_length: int = 0  # no end token before the decoder input is this long
    min_new_tokens: int = 0  # no end token before this many new tokens
    max_length: int | None = None  # the folder's length limit (decoder input included)
    max_new_tokens: int | None = None  # the folder's budget of new tokens; wins over max_length

    # ---- checks and JSON ------------------------------------------------------------
    def validate(self, vocab_size: int) -> None:
        """Raise ValueError naming the first field holding something other than a token id."""
        for name in ("eos_token_ids", "forced_eos_token_ids", "begin_suppress_tokens"):
            value = getattr(self, name)
            if value is not None and not _ids(value):
                raise ValueError(f"GenerationSettings.{name} must be a list of integers, got "
                                 f"{_short(value)}")
        if not (isinstance(self.bad_words_ids, list) and all(
                isinstance(ids, list) and len(ids) >= 2 and _ids(ids) for ids in self.bad_words_ids)):
            raise ValueError("GenerationSettings.bad_words_ids must be a list of lists of two or "
                             f"more integers, got {_short(self.bad_words_ids)}")
        for name, low in (("forced_bos_token_id", 0), ("min_length", 0), ("min_new_tokens", 0),
                          ("max_length", 1), ("max_new_tokens", 0)):
            value = getattr(self, name)
            if value is None and name not in ("min_length", "min_new_tokens"):
                continue
            if not _ids([value]) or not low <= value <= LENGTH_LIMIT:
                raise ValueError(f"GenerationSettings.{name} must be a whole number in "
                                 f"{low}..{LENGTH_LIMIT}, got {_short(value)}")
        named = [*(self.eos_token_ids or ()), *self.forced_eos_token_ids,
                 *self.begin_suppress_tokens, *(i for ids in self.bad_words_ids for i in ids)]
        if self.forced_bos_token_id is not None:
            named.append(self.forced_bos_token_id)
        wrong = [i for i in named if not 0 <= i < vocab_size]
        if wrong:
            raise ValueError(f"the generation settings name token {wrong[0]}, which is not a token "
                             f"id: the vocabulary has ids 0..{vocab_size - 1} (vocab_size {vocab_size})")

    @classmethod
    def from_dict(cls, data) -> GenerationSettings:
        if isinstance(data, GenerationSettings):
            return data
        if not isinstance(data, dict):
            raise ValueError(f"ModelConfig.generation must be an object, got {_short(data)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown generation settings: {', '.join(unknown)}")
        return cls(**data)

    # ---- decoding ---------------------------------------------------------------------
    def stop_ids(self, eos_token_id: int | None) -> list[int]:
        """The ids that end a decode."""
        if self.eos_token_ids is not None:
            return list(self.eos_token_ids)
        return [] if eos_token_id is None else [eos_token_id]

    def budget(self, prefix_len: int) -> int | None:
        """New tokens the folder allows after ``prefix_len`` decoder tokens; None: unstated."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        if self.max_length is not None:
            return max(0, self.max_length - prefix_len)
        return None


def scores_for_step(scores: torch.Tensor, tokens: torch.Tensor, *, settings: GenerationSettings,
                    banned: list[int], stop: list[int], prompt_len: int,
                    last_step: bool) -> torch.Tensor:
    """One step's next-token scores ``[B, vocab]`` after the rules, given the ``tokens`` so far.

    The order is transformers': banned words (single and multi-token), the minimum lengths,
    the forced first and last tokens (which replace every other score), then the tokens
    suppressed at the first step. ``suppress_tokens`` are applied with the banned words, before
    forcing: the two differ only when a folder suppresses the very token it forces.
    """
    length = tokens.shape[1]
    scores = scores.clone()
    if banned:
        scores[:, banned] = float("-inf")
    for words in settings.bad_words_ids:
        prefix = torch.tensor(words[:-1])
        if len(prefix) <= length:
            matching = (tokens[:, length - len(prefix):] == prefix).all(dim=1)
            scores[matching, words[-1]] = float("-inf")
    if stop and (length < settings.min_length or length - prompt_len < settings.min_new_tokens):
        scores[:, stop] = float("-inf")
    if settings.forced_bos_token_id is not None and length == 1:
        scores = _only(scores, [settings.forced_bos_token_id])
    if settings.forced_eos_token_ids and last_step:
        scores = _only(scores, settings.forced_eos_token_ids)
    if settings.begin_suppress_tokens:
        begin = prompt_len + (1 if prompt_len == 1 and settings.forced_bos_token_id is not None else 0)
        if length == begin:
            scores[:, settings.begin_suppress_tokens] = float("-inf")
    return scores


def _only(scores: torch.Tensor, ids: list[int]) -> torch.Tensor:
    forced = torch.full_like(scores, float("-inf"))
    forced[:, ids] = 0.0
    return forced


def _ids(values) -> bool:
    return isinstance(values, list) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in values)


def _short(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def describe(config, tokens_of) -> str:
    """One line for a model's facts: the decode is greedy, and the rules that steer it.

    ``tokens_of`` turns ids into the tokenizer's pieces, so that end tokens read by name.
    """
    settings: GenerationSettings = config.generation
    parts = ["greedy"]
    stop = settings.stop_ids(config.eos_token_id)
    if stop:
        parts.append("stops at " + ", ".join(tokens_of(stop)))
    if settings.forced_bos_token_id is not None:
        parts.append(f"starts with {tokens_of([settings.forced_bos_token_id])[0]}")
    if settings.forced_eos_token_ids:
        parts.append(f"ends with {', '.join(tokens_of(settings.forced_eos_token_ids))} at the length limit")
    banned = len(config.suppressed_token_ids) + len(settings.bad_words_ids)
    if banned:
        parts.append(f"{banned} banned {'word' if banned == 1 else 'words'}")
    ignored = config.extra.get("generation_ignored") or {}
    if ignored:
        parts.append("ignores " + ", ".join(f"{k}={v}" for k, v in sorted(ignored.items())))
    return "; ".join(parts)
