"""Synthetic sequence-to-sequence tasks for the shipped demo models, with gold word alignments."""

from . import dates, translation
from .common import Pair, join_words, split_of, words_of

TASKS = {"translation": translation, "dates": dates}

__all__ = ["TASKS", "Pair", "dates", "join_words", "split_of", "translation", "words_of"]
