"""Dates in many surface forms → ISO 8601 ("Saturday, March 5th 2022" → "2022-03-05").

Numeric forms are month-first (US): "03/05/2022" is March 5th. Two-digit years mean
1950-2049 ("22" → 2022, "87" → 1987) and never come first, so no form is ambiguous.
Weekdays, when written, are the true ones.
Target words are ``YYYY - MM - DD``; each aligns to the source words that spell that field.
"""

from __future__ import annotations

import datetime
import random

from .common import Pair, generate_pairs, words_of

FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
MONTH_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                       "dec")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_ABBREVIATIONS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ORDINAL_WORDS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh "
                 "twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth "
                 "nineteenth twentieth").split()


def ordinal_suffix(day: int) -> str:
    """ "1st", "2nd", "3rd", "4th", "11th", "21st"."""
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def ordinal_words(day: int) -> str:
    """ "fifth", "twenty-first", "thirtieth"."""
    if day <= 20:
        return ORDINAL_WORDS[day - 1]
    if day == 30:
        return "thirtieth"
    tens = "twenty" if day < 30 else "thirty"
    return f"{tens}-{ORDINAL_WORDS[day % 10 - 1]}"


def _capitalize(word: str, rng: random.Random) -> str:
    return rng.choice((word, word.capitalize(), word.upper())) if rng.random() < 0.5 else word


def surface_pieces(date: datetime.date, rng: random.Random) -> list[tuple[str, str | None]]:
    """The date in one random surface form, as (text, field) pieces; field is year/month/day/None."""
    y, m, d = date.year, date.month, date.day
    year = rng.choice((str(y), str(y), f"{y % 100:02d}"))
    month_name = _capitalize(rng.choice((MONTHS[m - 1], MONTH_ABBREVIATIONS[m - 1])), rng)
    day = rng.choice((str(d), ordinal_suffix(d)))
    weekday = rng.choice((WEEKDAYS, WEEKDAY_ABBREVIATIONS))[date.weekday()]
    weekday_prefix = [(_capitalize(weekday, rng), None), (rng.choice((", ", " ")), None)]
    form = rng.randrange(9)
    if form == 0:  # "March 5th 2022", "March 5, 2022"
        pieces = [(month_name, "month"), (" ", None), (day, "day"), (rng.choice((", ", " ")), None),
                  (year, "year")]
    elif form == 1:  # "5 mar 22", "5th March 2022"
        pieces = [(day, "day"), (" ", None), (month_name, "month"), (" ", None), (year, "year")]
    elif form == 2:  # "03/05/2022", "3-5-22"
        sep = rng.choice("/-.")
        month = rng.choice((str(m), f"{m:02d}"))
        day_digits = rng.choice((str(d), f"{d:02d}"))
        pieces = [(month, "month"), (sep, None), (day_digits, "day"), (sep, None), (year, "year")]
    elif form == 3:  # "the fifth of March, 2022"
        pieces = [("the ", None), (ordinal_words(d), "day"), (" of ", None), (month_name, "month"),
                  (rng.choice((", ", " ")), None), (year, "year")]
    elif form == 4:  # "2022 march 5": four digits, or "22 march 5" would read as "22 march 2005"
        pieces = [(str(y), "year"), (" ", None), (month_name, "month"), (" ", None), (day, "day")]
    elif form == 5:  # "2022/03/05"
        sep = rng.choice("/-.")
        pieces = [(str(y), "year"), (sep, None), (f"{m:02d}", "month"), (sep, None),
                  (f"{d:02d}", "day")]
    elif form == 6:  # "March the fifth, 2022"
        pieces = [(month_name, "month"), (" the ", None), (ordinal_words(d), "day"),
                  (rng.choice((", ", " ")), None), (year, "year")]
    elif form == 7:  # "5th of March 2022"
        pieces = [(ordinal_suffix(d), "day"), (" of ", None), (month_name, "month"), (" ", None),
                  (year, "year")]
    else:  # "on March 5th, 2022"
        pieces = [("on ", None), (month_name, "month"), (" ", None), (day, "day"), (", ", None),
                  (year, "year")]
    if form in (0, 1, 3, 6, 7) and rng.random() < 0.4:
        pieces = weekday_prefix + pieces
    return pieces


def make_pair(rng: random.Random) -> Pair:
    """One random date, written one random way, and its ISO form."""
    span = (LAST_DATE - FIRST_DATE).days
    date = FIRST_DATE + datetime.timedelta(days=rng.randrange(span + 1))
    source: list[str] = []
    positions: dict[str, list[int]] = {"year": [], "month": [], "day": []}
    for text, field_name in surface_pieces(date, rng):
        words = words_of(text)
        if field_name:
            positions[field_name] += range(len(source), len(source) + len(words))
        source += words
    target = [str(date.year), "-", f"{date.month:02d}", "-", f"{date.day:02d}"]
    alignment = [tuple(positions["year"]), (), tuple(positions["month"]), (),
                 tuple(positions["day"])]
    return Pair(tuple(source), tuple(target), tuple(alignment))


def generate(n: int, seed: int, split: str = "train", unique: bool = False) -> list[Pair]:
    return generate_pairs(make_pair, n, seed, split, unique)


def vocabulary() -> list[str]:
    """Every word either side can produce, in a fixed order."""
    words = ["the", "of", "on", ",", "/", "-", "."]
    words += [str(i) for i in range(100)] + [f"{i:02d}" for i in range(100)]
    words += [str(y) for y in range(FIRST_DATE.year, LAST_DATE.year + 1)]
    words += list(MONTHS) + list(MONTH_ABBREVIATIONS) + list(WEEKDAYS) + list(WEEKDAY_ABBREVIATIONS)
    words += [ordinal_suffix(d) for d in range(1, 32)] + ORDINAL_WORDS
    words += ["twenty", "thirty", "thirtieth"]
    return list(dict.fromkeys(words))
