"""The toy English→French generator: deterministic, grammatical French, valid gold alignments."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.tasks import join_words, split_of, translation
from engine.tasks.french_lexicon import ADJECTIVES, FRENCH_DETERMINERS, NOUNS, VERBS, starts_with_vowel

NOUN_FEATURES: dict[str, set] = {}
for _noun in NOUNS:
    NOUN_FEATURES.setdefault(_noun.fr, set()).add((_noun.gender, "sg"))
    NOUN_FEATURES.setdefault(_noun.fr_plural, set()).add((_noun.gender, "pl"))
ADJECTIVE_FEATURES: dict[str, set] = {}
ADJECTIVE_BEFORE: dict[str, bool] = {}
for _adj in ADJECTIVES:
    for _form, _features in zip(_adj.forms, [("m", "sg"), ("f", "sg"), ("m", "pl"), ("f", "pl")],
                                strict=True):
        ADJECTIVE_FEATURES.setdefault(_form, set()).add(_features)
        ADJECTIVE_BEFORE[_form] = _adj.before_noun
    if _adj.masculine_before_vowel:
        ADJECTIVE_FEATURES[_adj.masculine_before_vowel] = {("m", "sg")}
        ADJECTIVE_BEFORE[_adj.masculine_before_vowel] = True
VERB_NUMBER = {v.fr: "sg" for v in VERBS} | {v.fr_plural: "pl" for v in VERBS}
SPECIAL_MASCULINE = {a.masculine_before_vowel: a for a in ADJECTIVES if a.masculine_before_vowel}

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def pair_for(seed):
    return translation.make_pair(random.Random(seed))


def noun_positions(words):
    """Indices of nouns: a noun form right after a determiner or a preceding adjective."""
    return [i for i, w in enumerate(words) if i > 0 and w in NOUN_FEATURES
            and (words[i - 1] in FRENCH_DETERMINERS or ADJECTIVE_BEFORE.get(words[i - 1]))]


def test_same_seed_same_pairs_and_different_seed_different_pairs():
    first = translation.generate(50, seed=7)
    assert first == translation.generate(50, seed=7)
    assert first != translation.generate(50, seed=8)


def test_lexicon_is_as_large_as_the_issue_asks():
    assert len(NOUNS) >= 40 and {n.gender for n in NOUNS} == {"m", "f"}
    assert len(ADJECTIVES) >= 25
    assert sum(a.before_noun for a in ADJECTIVES) >= 5
    assert len(VERBS) >= 20


def test_train_and_eval_never_share_a_sentence():
    train = translation.generate(3000, seed=1, split="train")
    held_out = translation.generate(300, seed=1, split="eval")
    assert {p.source_text for p in train}.isdisjoint(p.source_text for p in held_out)
    assert all(split_of(p.source_text) == "eval" for p in held_out)


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_alignments_are_valid_indices_covering_both_sides(seed):
    pair = pair_for(seed)
    assert 3 <= len(pair.source) <= 25
    assert len(pair.alignment) == len(pair.target)
    for sources in pair.alignment:
        assert sources, "every French word translates some English word"
        assert all(0 <= i < len(pair.source) for i in sources)
    assert {i for sources in pair.alignment for i in sources} == set(range(len(pair.source)))


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_determiners_and_adjectives_agree_with_their_noun(seed):
    words = pair_for(seed).target
    for i in noun_positions(words):
        noun = NOUN_FEATURES[words[i]]
        before = i - 1
        if ADJECTIVE_BEFORE.get(words[before]):
            assert noun & ADJECTIVE_FEATURES[words[before]], (words, i)
            before -= 1
        gender, number = FRENCH_DETERMINERS[words[before]]
        assert any(n == number and gender in (None, g) for g, n in noun), (words, i)
        if i + 1 < len(words) and words[i + 1] in ADJECTIVE_FEATURES and not ADJECTIVE_BEFORE[words[i + 1]]:
            assert noun & ADJECTIVE_FEATURES[words[i + 1]], (words, i)


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_adjectives_take_their_french_side_of_the_noun(seed):
    words = pair_for(seed).target
    for i, word in enumerate(words):
        if word not in ADJECTIVE_FEATURES:
            continue
        if words[i - 1] in NOUN_FEATURES and i > 0:  # "le chat noir", never "le chat petit"
            assert not ADJECTIVE_BEFORE[word], f"{word!r} must precede its noun: {words}"
        if i > 0 and words[i - 1] in FRENCH_DETERMINERS:  # "le petit chat", never "le noir chat"
            assert ADJECTIVE_BEFORE[word], f"{word!r} must follow its noun: {words}"


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_elision_where_french_needs_it(seed):
    words = pair_for(seed).target
    for previous, word, following in zip(("",) + words, words, words[1:], strict=False):
        vowel = starts_with_vowel(following)
        if word in ("le", "la", "ce", "ma", "ne"):
            assert not vowel, words
        if word in ("l'", "cet", "n'"):
            assert vowel, words
        if word == "que":
            assert following not in ("un", "une"), words
        if word == "qu'":
            assert following in ("un", "une"), words
        if word in SPECIAL_MASCULINE:
            assert vowel and ("m", "sg") in NOUN_FEATURES[following], words
        if word in ("beau", "vieux", "nouveau") and previous in FRENCH_DETERMINERS:
            singular = FRENCH_DETERMINERS[previous][1] == "sg"
            assert not (singular and vowel), words  # "le vieil arbre", but "les vieux arbres"
    assert "l' " not in pair_for(seed).target_text


def check_subject_verb_agreement(words) -> int:
    """Assert agreement for clause subjects (sentence start, after "mais", "que") and heads of
    "qui" clauses whose verb follows right after; returns how many verbs were checked."""
    checked = 0
    for i in noun_positions(words):
        det = i - 2 if ADJECTIVE_BEFORE.get(words[i - 1]) else i - 1
        after = i + 2 if i + 1 < len(words) and words[i + 1] in ADJECTIVE_FEATURES else i + 1
        is_subject = det == 0 or words[det - 1] in ("mais", "que", "qu'")
        if after < len(words) and words[after] == "qui":
            after, is_subject = after + 1, True
        if after < len(words) and words[after] in ("ne", "n'"):
            after += 1
        if is_subject and after < len(words) and words[after] in VERB_NUMBER:
            subject_numbers = {n for _, n in NOUN_FEATURES[words[i]]}
            assert VERB_NUMBER[words[after]] in subject_numbers, (words, i)
            checked += 1
    return checked


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_verbs_agree_with_their_subject(seed):
    check_subject_verb_agreement(pair_for(seed).target)


def test_agreement_check_covers_most_sentences_and_catches_a_wrong_verb():
    pairs = translation.generate(300, seed=11)
    assert sum(check_subject_verb_agreement(p.target) > 0 for p in pairs) > 200
    with pytest.raises(AssertionError):
        check_subject_verb_agreement(("les", "chats", "noirs", "dort"))


def test_adjective_reordering_makes_alignments_cross_often():
    pairs = translation.generate(3000, seed=3)
    crossing = [p for p in pairs if any(a[0] > b[0] for a, b in zip(p.alignment, p.alignment[1:],
                                                                        strict=False))]
    assert len(crossing) > len(pairs) // 4, "adjective reordering must be common"


def test_every_generated_word_is_in_the_vocabulary():
    tokenizer = engine.word_level_tokenizer(translation.vocabulary())
    for pair in translation.generate(500, seed=5):
        for text, words in ((pair.source_text, pair.source), (pair.target_text, pair.target)):
            assert tokenizer.encode(text).tokens == list(words) + ["</s>"]
    assert join_words(["l'", "arbre", "vert"]) == "l'arbre vert"
