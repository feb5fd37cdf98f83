"""Subject-verb agreement as a masked-word task, for an encoder-only model.

"the dog with the cats [MASK] happy" → "is": the masked word is an auxiliary whose form needs
two facts. Its number is the subject's: the sentence's first noun, however far back, past
nouns of the other number in prepositional phrases and relative clauses (whose own verbs may
agree with those nouns). Which verb it is follows from the next words: an adjective takes
is/are, "not" and a verb does/do, an object has/have. The subject's determiners are
number-neutral ("the", "my"), so only the subject noun tells its number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .common import generate_pairs, join_words
from .french_lexicon import ADJECTIVES, NOUNS, NUMBERS, PREPOSITIONS, VERBS, english_starts_with_vowel

ARCHITECTURE = "encoder-only"
GROUP_SHARE = 0.4  # a subject share at which a head counts as one of the subject heads
MASK = "[MASK]"  # BERT's spelling; "[mask]" and "<mask>" (RoBERTa's) are typed as well
AUXILIARIES = {"be": ("is", "are"), "do": ("does", "do"), "have": ("has", "have")}
ANIMATE = tuple(n for n in NOUNS if n.animate)
TRANSITIVE = tuple(v for v in VERBS if v.transitive)
INTRANSITIVE = tuple(v for v in VERBS if not v.transitive)
SUBJECT_DETERMINERS = ("the", "my")
ADVERBS = ("today", "now", "here", "sometimes")


@dataclass(frozen=True)
class Masked:
    """``source``: the words, ``MASK`` at ``mask_index``; ``answer`` is the word it hides."""

    source: tuple[str, ...]
    answer: str
    mask_index: int
    subject_index: int  # the subject noun, whose number the answer takes

    @property
    def source_text(self) -> str:
        return join_words(self.source).replace(" ,", ",")

    @property
    def full_text(self) -> str:
        """The sentence with the answer in place of the mask."""
        words = self.source[:self.mask_index] + (self.answer,) + self.source[self.mask_index + 1:]
        return join_words(words).replace(" ,", ",")


def _noun_phrase(words: list[str], rng: random.Random, animate: bool = False,
                 adjectives: int = 1) -> tuple[int, bool]:
    """Append "the|my [adjectives] noun"; returns the noun's index and whether it is plural."""
    noun = rng.choice(ANIMATE if animate else NOUNS)
    plural = rng.random() < 0.5
    words.append(rng.choice(SUBJECT_DETERMINERS))
    words += [a.en for a in rng.sample(ADJECTIVES, rng.randint(0, adjectives))]
    words.append(noun.en_plural if plural else noun.en)
    return len(words) - 1, plural


def _modifier(words: list[str], rng: random.Random, subject_plural: bool) -> None:
    """A prepositional phrase or a relative clause after the subject; its nouns attract."""
    roll = rng.random()
    if roll < 0.4:  # "with the cats"
        words.append(rng.choice(list(PREPOSITIONS)))
        _noun_phrase(words, rng)
    elif roll < 0.7:  # "that the cats see": the verb agrees with the attractor
        words.append("that")
        _, plural = _noun_phrase(words, rng, animate=True)
        verb = rng.choice(TRANSITIVE)
        words.append(verb.en_base if plural else verb.en)
    else:  # "that sees the cats": the verb agrees with the subject
        verb = rng.choice(TRANSITIVE)
        words += ["that", verb.en_base if subject_plural else verb.en]
        _noun_phrase(words, rng)


def _object(rng: random.Random) -> list[str]:
    """ "the red ball", "a ball", "an apple", "two books", "my cats"."""
    noun = rng.choice(NOUNS)
    adjective = [rng.choice(ADJECTIVES).en] if rng.random() < 0.4 else []
    determiner = rng.choice(("the", "my", "a", "number"))
    plural = determiner == "number" or determiner in ("the", "my") and rng.random() < 0.5
    if determiner == "a":
        determiner = "an" if english_starts_with_vowel((adjective or [noun.en])[0]) else "a"
    elif determiner == "number":
        determiner = rng.choice(list(NUMBERS))
    return [determiner, *adjective, noun.en_plural if plural else noun.en]


def _predicate(rng: random.Random) -> tuple[str, list[str]]:
    """(the auxiliary's verb, the words after it)."""
    roll = rng.random()
    if roll < 0.35:
        return "be", [rng.choice(ADJECTIVES).en]
    if roll < 0.5:
        return "be", ["not", rng.choice(ADJECTIVES).en]
    if roll < 0.7:
        return "do", ["not", rng.choice(INTRANSITIVE).en_base]
    return "have", _object(rng)


def make_masked(rng: random.Random) -> Masked:
    """[adverb ,] subject [modifiers] [MASK] predicate."""
    words: list[str] = []
    if rng.random() < 0.25:  # "today, the dog ...": the subject is not always near the start
        words += [rng.choice(ADVERBS), ","]
    subject, plural = _noun_phrase(words, rng, animate=True, adjectives=2)
    for _ in range(rng.choice((0, 1, 1, 1, 2))):
        _modifier(words, rng, plural)
    verb, predicate = _predicate(rng)
    mask_index = len(words)
    words += [MASK, *predicate]
    return Masked(tuple(words), AUXILIARIES[verb][plural], mask_index, subject)


def generate(n: int, seed: int, split: str = "train", unique: bool = False) -> list[Masked]:
    """``n`` sentences of ``split`` (train and eval never share one); the same seed, the same list."""
    return generate_pairs(make_masked, n, seed, split, unique)


def vocabulary() -> list[str]:
    """Every word a sentence can hold (the mask is a special token of the tokenizer)."""
    words = ["the", "my", "a", "an", "that", "not", ",", *ADVERBS]
    words += [w for pair in AUXILIARIES.values() for w in pair]
    words += list(PREPOSITIONS) + list(NUMBERS) + [a.en for a in ADJECTIVES]
    words += [w for n in NOUNS for w in (n.en, n.en_plural)]
    words += [w for v in VERBS for w in (v.en, v.en_base)]
    return list(dict.fromkeys(words))


def tokenizer():
    """Word-level with ``<s>`` first and ``</s>`` last, and the mask as one special token."""
    from tokenizers import AddedToken, normalizers

    from ..tokenizer import word_level_tokenizer

    result = word_level_tokenizer(vocabulary(), prepend_bos=True, append_eos=True)
    backend = result.backend
    # The words are lower-cased first, so the mask in any case is rewritten to BERT's spelling,
    # and a "normalized" special token matches only after that: "[Mask]" and "<mask>" work too.
    backend.normalizer = normalizers.Sequence([
        backend.normalizer, normalizers.Replace("[mask]", MASK), normalizers.Replace("<mask>", MASK)])
    backend.add_special_tokens([AddedToken(MASK, special=True, normalized=True)])
    return result


def training_example(tokenizer, example: Masked) -> tuple[list[int], list[int | None]]:
    """Ids of the masked sentence; targets: the hidden word at the mask, each word elsewhere.

    Reading back the unmasked words costs the model little and makes its prediction at every
    position meaningful in the app ("Predicted: the dogs near the cat are happy").
    """
    ids = tokenizer.encode(example.source_text).ids
    return ids, list(tokenizer.encode(example.full_text).ids)


def score(model, examples: list[Masked]) -> dict:
    """Held-out exact match at the mask, and the heads that look where the answer is decided.

    A head's share is how often the mask's row of its pattern peaks on the subject noun
    (``subject_share``) or on one of the two words after the mask (``predicate_share``).
    ``heads`` names the best head of each; ``zeroed`` gives the exact match again with every
    head whose subject share is at least ``GROUP_SHARE`` zeroed at once.
    """
    layers, heads = model.config.n_encoder_layers, model.config.n_heads
    shares = {"subject_share": np.zeros((layers, heads)), "predicate_share": np.zeros((layers, heads))}
    right = 0
    for example in examples:
        trace = model.run(example.source_text)
        mask = example.mask_index + 1  # <s> comes first
        right += trace.predicted_tokens[mask] == example.answer
        peaks = trace.attention["encoder"][:, :, mask].argmax(axis=-1)  # [layers, heads]
        shares["subject_share"] += peaks == example.subject_index + 1
        shares["predicate_share"] += (peaks == mask + 1) | (peaks == mask + 2)
    shares = {name: values / len(examples) for name, values in shares.items()}
    found = []
    for statistic, values in shares.items():
        layer, head = np.unravel_index(int(values.argmax()), values.shape)
        found.append({"role": statistic.removesuffix("_share"), "kind": "encoder", "layer": int(layer),
                      "head": int(head), "statistic": statistic,
                      "score": round(float(values[layer, head]), 4)})
    group = [[int(layer), int(head)] for layer, head in np.argwhere(shares["subject_share"] >= GROUP_SHARE)]
    return {
        "n": len(examples),
        "exact_match": right / len(examples),
        "heads": found,
        "zeroed": {"role": "subject", "kind": "encoder", "heads": group, "score": "exact_match",
                   "value": exact_match(model, examples, [("encoder", *pair) for pair in group])},
        **{f"{name}_per_head": np.round(values, 4).tolist() for name, values in shares.items()},
    }



def exact_match(model, examples: list[Masked], ablate=()) -> float:
    """The share of ``examples`` whose masked word the model predicts, with ``ablate`` heads zeroed."""
    right = 0
    for example in examples:
        trace = model.run(example.source_text, ablate=ablate, record=False)
        right += trace.predicted_tokens[example.mask_index + 1] == example.answer
    return right / len(examples)
