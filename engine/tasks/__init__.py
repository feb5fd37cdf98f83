"""Synthetic tasks for the shipped demo models: seq2seq pairs with gold word alignments, and
single-stack tasks (a decoder-only and an encoder-only one) that score themselves."""

from . import agreement, dates, induction, translation
from .common import Pair, join_words, split_of, words_of

TASKS = {"translation": translation, "dates": dates}
SINGLE_STACK_TASKS = {"induction": induction, "agreement": agreement}

__all__ = ["SINGLE_STACK_TASKS", "TASKS", "Pair", "agreement", "dates", "induction", "join_words",
           "split_of", "translation", "words_of"]
