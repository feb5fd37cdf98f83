"""Toy English→French: a generated grammar whose French is grammatical and word-aligned.

Noun phrases carry agreement in gender and number; most adjectives follow the noun in French
but precede it in English, so cross-attention must cross. Sentences nest prepositional
phrases and relative clauses ("qui"/"que"), use negation ("ne ... pas") and elision ("l'",
"qu'", "n'", "cet", "vieil").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .common import Pair, generate_pairs
from .french_lexicon import (
    ADJECTIVES,
    CONJUNCTIONS,
    NOUNS,
    NUMBERS,
    PREPOSITIONS,
    VERBS,
    english_starts_with_vowel,
    starts_with_vowel,
)

MIN_WORDS, MAX_WORDS = 3, 25
ANIMATE = tuple(n for n in NOUNS if n.animate)
PRE_ADJECTIVES = tuple(a for a in ADJECTIVES if a.before_noun)
POST_ADJECTIVES = tuple(a for a in ADJECTIVES if not a.before_noun)
TRANSITIVE = tuple(v for v in VERBS if v.transitive)
INTRANSITIVE = tuple(v for v in VERBS if not v.transitive)


@dataclass
class Builder:
    """Grows the English and French word lists together, recording each French word's sources."""

    english: list[str] = field(default_factory=list)
    french: list[str] = field(default_factory=list)
    alignment: list[tuple[int, ...]] = field(default_factory=list)

    def en(self, word: str) -> int:
        self.english.append(word)
        return len(self.english) - 1

    def fr(self, word: str, *sources: int) -> None:
        self.french.append(word)
        self.alignment.append(tuple(sources))


def _adjective_form(adjective, gender: str, plural: bool, next_french: str | None) -> str:
    if (adjective.masculine_before_vowel and gender == "m" and not plural and next_french
            and starts_with_vowel(next_french)):
        return adjective.masculine_before_vowel
    return adjective.forms[(2 if plural else 0) + (gender == "f")]


def _determiner(kind: str, gender: str, plural: bool, next_french: str) -> tuple[str, str]:
    """(English, French) determiner; French elision depends on the next French word."""
    vowel = starts_with_vowel(next_french)
    if kind == "number":
        raise ValueError("numbers are chosen by the caller")
    if plural:
        return {"the": ("the", "les"), "this": ("these", "ces"), "my": ("my", "mes")}[kind]
    if kind == "the":
        return "the", "l'" if vowel else ("la" if gender == "f" else "le")
    if kind == "a":
        return "a", "une" if gender == "f" else "un"
    if kind == "this":
        return "this", "cette" if gender == "f" else ("cet" if vowel else "ce")
    if kind == "my":
        return "my", "ma" if gender == "f" and not vowel else "mon"
    return "every", "chaque"


def noun_phrase(b: Builder, rng: random.Random, depth: int, animate: bool = False) -> bool:
    """Append a noun phrase (with any modifiers) to both sides; returns True if it is plural."""
    noun = rng.choice(ANIMATE if animate else NOUNS)
    plural = rng.random() < 0.35
    kind = rng.choice(("the", "the", "the", "a", "this", "my", "every", "number") if not plural
                      else ("the", "the", "the", "this", "my", "number", "number"))
    if kind == "a" and plural or kind == "every" and plural:
        kind = "the"
    if not plural and kind == "number":
        kind = "the"
    pre = rng.choice(PRE_ADJECTIVES) if rng.random() < 0.3 else None
    post = rng.choice(POST_ADJECTIVES) if rng.random() < 0.4 else None
    gender = noun.gender
    fr_noun = noun.fr_plural if plural else noun.fr
    fr_pre = _adjective_form(pre, gender, plural, fr_noun) if pre else None
    first_french = fr_pre or fr_noun

    # English: determiner, adjectives (the French-preceding one first), noun.
    if kind == "number":
        en_det, fr_det = rng.choice(list(NUMBERS.items()))
    else:
        en_det, fr_det = _determiner(kind, gender, plural, first_french)
    first_english = (pre or post).en if (pre or post) else (noun.en_plural if plural else noun.en)
    if en_det == "a" and english_starts_with_vowel(first_english):
        en_det = "an"
    i_det = b.en(en_det)
    i_pre = b.en(pre.en) if pre else None
    i_post = b.en(post.en) if post else None
    i_noun = b.en(noun.en_plural if plural else noun.en)

    # French: determiner, preceding adjective, noun, following adjective.
    b.fr(fr_det, i_det)
    if pre:
        b.fr(fr_pre, i_pre)
    b.fr(fr_noun, i_noun)
    if post:
        b.fr(_adjective_form(post, gender, plural, None), i_post)

    if depth > 0:
        roll = rng.random()
        if roll < 0.2:
            prepositional_phrase(b, rng, depth - 1)
        elif roll < 0.4:
            relative_clause(b, rng, depth - 1, plural)
    return plural


def prepositional_phrase(b: Builder, rng: random.Random, depth: int) -> None:
    en, fr = rng.choice(list(PREPOSITIONS.items()))
    b.fr(fr, b.en(en))
    noun_phrase(b, rng, depth)


def verb_group(b: Builder, rng: random.Random, verb, plural: bool) -> None:
    """The verb, agreeing with its subject, optionally negated: "does not see" → "ne voit pas"."""
    fr_verb = verb.fr_plural if plural else verb.fr
    if rng.random() < 0.15:
        i_do = b.en("do" if plural else "does")
        i_not = b.en("not")
        i_verb = b.en(verb.en_base)
        b.fr("n'" if starts_with_vowel(fr_verb) else "ne", i_do, i_not)
        b.fr(fr_verb, i_verb)
        b.fr("pas", i_not)
    else:
        b.fr(fr_verb, b.en(verb.en_base if plural else verb.en))


def relative_clause(b: Builder, rng: random.Random, depth: int, head_plural: bool) -> None:
    """ "that sees the dog" → "qui voit le chien"; "that the dog sees" → "que le chien voit"."""
    i_that = b.en("that")
    if rng.random() < 0.5:
        b.fr("qui", i_that)
        verb_phrase(b, rng, depth, head_plural)
    else:
        at = len(b.french)
        b.fr("que", i_that)
        plural = noun_phrase(b, rng, depth, animate=True)
        if b.french[at + 1] in ("un", "une"):
            b.french[at] = "qu'"
        verb_group(b, rng, rng.choice(TRANSITIVE), plural)


def verb_phrase(b: Builder, rng: random.Random, depth: int, plural: bool) -> None:
    transitive = rng.random() < 0.6
    verb = rng.choice(TRANSITIVE if transitive else INTRANSITIVE)
    verb_group(b, rng, verb, plural)
    if transitive:
        noun_phrase(b, rng, depth)
    if depth > 0 and rng.random() < 0.25:
        prepositional_phrase(b, rng, depth - 1)


def clause(b: Builder, rng: random.Random, depth: int) -> None:
    plural = noun_phrase(b, rng, depth, animate=True)
    if rng.random() < 0.1:  # a coordinated subject takes a plural verb
        b.fr(CONJUNCTIONS["and"], b.en("and"))
        noun_phrase(b, rng, 0, animate=True)
        plural = True
    verb_phrase(b, rng, depth, plural)


def make_pair(rng: random.Random) -> Pair:
    """One random English sentence of 3-25 words and its French translation."""
    while True:
        b = Builder()
        depth = rng.choice((0, 1, 1, 2, 2, 3))
        clause(b, rng, depth)
        if rng.random() < 0.2:
            en, fr = rng.choice(list(CONJUNCTIONS.items()))
            b.fr(fr, b.en(en))
            clause(b, rng, max(depth - 1, 0))
        if MIN_WORDS <= len(b.english) <= MAX_WORDS and len(b.french) <= MAX_WORDS + 6:
            return Pair(tuple(b.english), tuple(b.french), tuple(b.alignment))


def generate(n: int, seed: int, split: str = "train", unique: bool = False) -> list[Pair]:
    return generate_pairs(make_pair, n, seed, split, unique)


def vocabulary() -> list[str]:
    """Every word either side can produce, in a fixed order."""
    words = ["the", "a", "an", "this", "these", "my", "every", "that", "does", "do", "not",
             "le", "la", "l'", "les", "un", "une", "ce", "cet", "cette", "ces", "mon", "ma", "mes",
             "chaque", "qui", "que", "qu'", "ne", "n'", "pas"]
    for table in (PREPOSITIONS, CONJUNCTIONS, NUMBERS):
        for en, fr in table.items():
            words += [en, fr]
    for noun in NOUNS:
        words += [noun.en, noun.en_plural, noun.fr, noun.fr_plural]
    for adjective in ADJECTIVES:
        words += [adjective.en, *adjective.forms]
        if adjective.masculine_before_vowel:
            words.append(adjective.masculine_before_vowel)
    for verb in VERBS:
        words += [verb.en, verb.en_base, verb.fr, verb.fr_plural]
    return list(dict.fromkeys(words))
