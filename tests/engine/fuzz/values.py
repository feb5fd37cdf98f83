"""Hostile values and seeded JSON mutations for the fuzz cases.

A JSON document is changed at one place: a value replaced by a hostile one (huge, negative,
fractional, boolean, string, list, object, deeply nested, 1e400, NaN), a key removed, or the
whole document replaced. ``dumps`` writes 1e400 literally, as a hand-edited file would.
"""

from __future__ import annotations

import json
import random

INF_MARK = "__1e400__"  # json.dumps would write Infinity; files from the wild say 1e400


def nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = [
    10**9, 10**6, 2**64, 2**31, -1, -(10**9), 0, 1, 3.5, 1e-30, INF_MARK, float("nan"), True, False,
    None, "", "x", "<unk>", [], [1], [[1]], [10**9], ["a", None], {}, {"a": 1}, nested(100), 10**40,
]


def hostile(rng: random.Random):
    return rng.choice(HOSTILE)


def dumps(data) -> str:
    return json.dumps(data, allow_nan=True).replace(f'"{INF_MARK}"', "1e400")


def deep_document(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def _children(node) -> list:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


def random_path(rng: random.Random, data, stop: float = 0.35) -> list:
    """A path from the root: one child at a time, stopping with probability ``stop`` (at least
    one step when the root has children), so top-level fields are hit as often as vocab rows."""
    path, node = [], data
    while True:
        children = _children(node)
        if not children or (path and rng.random() < stop):
            return path
        key = rng.choice(children)
        path.append(key)
        node = node[key]


def set_path(data, path: list, value):
    if not path:
        return value
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def delete_path(data, path: list):
    if not path:
        return {}
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return data


def show(path: list) -> str:
    return "".join(f"[{k!r}]" for k in path) or "(root)"


def mutate_json(rng: random.Random, data, hints: tuple[str, ...] = ()) -> tuple[object, str]:
    """One seeded change of a parsed document; returns the new document and what changed.

    ``hints`` are top-level keys worth setting even where the document lacks them.
    """
    choice = rng.random()
    if choice < 0.15 and hints and isinstance(data, dict):
        key, value = rng.choice(hints), hostile(rng)
        data[key] = value
        return data, f"[{key!r}] = {value!r:.60}"
    if choice < 0.25:
        path = random_path(rng, data)
        if path:
            return delete_path(data, path), f"deleted {show(path)}"
    if choice < 0.30:
        path = random_path(rng, data)
        return set_path(data, path, nested(rng.choice([70, 500]))), f"{show(path)} nested deep"
    path = random_path(rng, data)
    value = hostile(rng)
    return set_path(data, path, value), f"{show(path)} = {value!r:.60}"
