"""The date generator: deterministic, true ISO targets, many surface forms, valid alignments."""

import datetime
import random

from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.tasks import dates, split_of

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def iso_date(pair) -> datetime.date:
    year, dash1, month, dash2, day = pair.target
    assert dash1 == dash2 == "-"
    return datetime.date(int(year), int(month), int(day))


def test_same_seed_same_pairs_and_different_seed_different_pairs():
    first = dates.generate(50, seed=3)
    assert first == dates.generate(50, seed=3)
    assert first != dates.generate(50, seed=4)


def test_train_and_eval_never_share_a_source():
    train = dates.generate(5000, seed=0, split="train")
    held_out = dates.generate(500, seed=0, split="eval", unique=True)
    assert len({p.source_text for p in held_out}) == 500
    assert {p.source_text for p in train}.isdisjoint(p.source_text for p in held_out)
    assert all(split_of(p.source_text) == "eval" for p in held_out)


def test_many_surface_forms_appear():
    sources = [p.source for p in dates.generate(2000, seed=1)]
    assert any("/" in s for s in sources)
    assert any("of" in s and any(w.endswith("th") for w in s) for s in sources)
    assert any(s[0].isdigit() and len(s[0]) == 4 for s in sources)  # "2022 march 5"
    assert any(w in dates.WEEKDAYS for s in sources for w in s)
    assert any(w in dates.MONTH_ABBREVIATIONS and w not in dates.MONTHS for s in sources for w in s)
    assert len({len(s) for s in sources}) >= 5


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_target_is_the_date_the_source_spells(seed):
    pair = dates.make_pair(random.Random(seed))
    date = iso_date(pair)
    year_words = [pair.source[i] for i in pair.alignment[0]]
    month_words = [pair.source[i] for i in pair.alignment[2]]
    if pair.alignment[0][0] == 0:  # a leading two-digit year would read as a day: "22 march 5"
        assert len(year_words[0]) == 4, pair.source
    assert year_words in ([str(date.year)], [f"{date.year % 100:02d}"])
    assert month_words[0] in (dates.MONTHS[date.month - 1], dates.MONTH_ABBREVIATIONS[date.month - 1],
                              str(date.month), f"{date.month:02d}")
    weekday_words = [w for w in pair.source if w in dates.WEEKDAYS + dates.WEEKDAY_ABBREVIATIONS]
    for word in weekday_words:
        assert date.weekday() in (dates.WEEKDAYS.index(word) if word in dates.WEEKDAYS else -1,
                                  dates.WEEKDAY_ABBREVIATIONS.index(word)
                                  if word in dates.WEEKDAY_ABBREVIATIONS else -1)


@settings(max_examples=200, deadline=None)
@given(seeds)
def test_alignments_are_valid_indices(seed):
    pair = dates.make_pair(random.Random(seed))
    assert len(pair.alignment) == len(pair.target) == 5
    assert pair.alignment[1] == pair.alignment[3] == ()
    for field in (0, 2, 4):
        assert pair.alignment[field], "year, month and day each come from some source word"
        assert all(0 <= i < len(pair.source) for i in pair.alignment[field])
    fields = [set(pair.alignment[f]) for f in (0, 2, 4)]
    assert not (fields[0] & fields[1] or fields[0] & fields[2] or fields[1] & fields[2])


def test_ordinals_spell_the_day():
    assert [dates.ordinal_suffix(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]
    assert dates.ordinal_words(5) == "fifth"
    assert dates.ordinal_words(21) == "twenty-first"
    assert dates.ordinal_words(30) == "thirtieth"


def test_every_generated_word_is_in_the_vocabulary():
    tokenizer = engine.word_level_tokenizer(dates.vocabulary())
    for pair in dates.generate(1000, seed=2):
        assert tokenizer.encode(pair.source_text).tokens == list(pair.source) + ["</s>"]
        assert tokenizer.encode(pair.target_text).tokens == list(pair.target) + ["</s>"]


def test_decoded_target_reads_as_iso():
    tokenizer = engine.word_level_tokenizer(dates.vocabulary())
    pair = dates.generate(1, seed=0)[0]
    ids = tokenizer.encode(pair.target_text).ids
    assert tokenizer.decode(ids) == iso_date(pair).isoformat()
