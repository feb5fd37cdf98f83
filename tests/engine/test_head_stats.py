"""Head statistics on hand-made patterns whose every number is known, and on a real trace."""

import math

import numpy as np
import pytest

from engine.head_stats import STATISTICS, head_stats, induction_targets, pattern_stats
from tests.conftest import make_tiny_model


def one_hot(keys: list[int], n_keys: int | None = None) -> np.ndarray:
    """A [1, 1, Q, K] pattern: query i puts all its weight on ``keys[i]``."""
    n_keys = n_keys or len(keys)
    pattern = np.zeros((1, 1, len(keys), n_keys))
    pattern[0, 0, np.arange(len(keys)), keys] = 1.0
    return pattern


def causal_uniform(n: int) -> np.ndarray:
    """Query i spreads its weight evenly over keys 0..i."""
    pattern = np.tril(np.ones((n, n)))
    return (pattern / pattern.sum(axis=1, keepdims=True))[None, None]


def test_uniform_causal_rows_give_the_closed_form_values():
    stats = pattern_stats(causal_uniform(4))
    share = [1, 1 / 2, 1 / 3, 1 / 4]  # the weight of each key on row i
    assert stats["entropy"][0, 0] == pytest.approx(np.mean([math.log(i + 1) for i in range(4)]), abs=1e-6)
    assert stats["max_weight"][0, 0] == pytest.approx(np.mean(share), abs=1e-6)
    assert stats["first_token"][0, 0] == pytest.approx(np.mean(share), abs=1e-6)
    assert stats["diagonal"][0, 0] == pytest.approx(np.mean(share), abs=1e-6)
    assert stats["previous_token"][0, 0] == pytest.approx(np.mean(share[1:]), abs=1e-6)  # rows 1..3
    assert stats["mean_distance"][0, 0] == pytest.approx(np.mean([0, 0.5, 1.0, 1.5]), abs=1e-6)
    assert np.isnan(stats["induction"][0, 0])  # no tokens given


def test_a_previous_token_head_scores_one_and_its_zeros_add_no_entropy():
    stats = pattern_stats(one_hot([0, 0, 1, 2, 3]))
    assert stats["previous_token"][0, 0] == 1.0
    assert stats["entropy"][0, 0] == 0.0  # 0 ln 0 = 0
    assert stats["max_weight"][0, 0] == 1.0
    assert stats["diagonal"][0, 0] == pytest.approx(1 / 5)  # row 0 can only look at itself
    assert stats["first_token"][0, 0] == pytest.approx(2 / 5)
    assert stats["mean_distance"][0, 0] == pytest.approx(4 / 5)


def test_an_induction_head_looks_at_the_word_after_the_latest_earlier_copy():
    tokens = ["<s>", "A", "B", "C", "A", "B", "C"]
    assert induction_targets(tokens) == ([4, 5, 6], [2, 3, 4])
    # Rows 4-6 follow the induction pattern; the others look at <s>.
    stats = pattern_stats(one_hot([0, 0, 0, 0, 2, 3, 4]), tokens)
    assert stats["induction"][0, 0] == 1.0
    # The same rows one key early (at the earlier copy itself) score 0.
    assert pattern_stats(one_hot([0, 0, 0, 0, 1, 2, 3]), tokens)["induction"][0, 0] == 0.0


def test_induction_uses_the_latest_copy_and_skips_immediate_repeats():
    # Row 4 ("A") last saw "A" at 2, so it counts key 3, not key 1; row 6 ("B", seen at 3)
    # counts key 4. Row 5 repeats "A" at 4, right before it: p + 1 = 5 is not earlier, skipped.
    tokens = ["x", "A", "A", "B", "A", "A", "B"]
    assert induction_targets(tokens) == ([4, 6], [3, 4])
    pattern = one_hot([0, 0, 0, 0, 3, 0, 0])
    assert pattern_stats(pattern, tokens)["induction"][0, 0] == pytest.approx(0.5)


def test_a_two_layer_example_worked_by_hand():
    # Layer 0 spreads its rows; layer 1 is a previous-token head whose last row is also the
    # induction row: "a" at 2 last appeared at 0, so it should look at key 1 ("b").
    pattern = np.array([[[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]],
                        [[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]])
    stats = pattern_stats(pattern, ["a", "b", "a"])
    by_hand = {  # (layer 0, layer 1), each a mean over the three rows
        # row entropies 0, ln 2 = 0.693147, -(.2 ln .2 + .3 ln .3 + .5 ln .5) = 1.029653
        "entropy": (0.574267, 0.0),
        "max_weight": ((1 + 0.5 + 0.5) / 3, 1.0),
        "first_token": ((1 + 0.5 + 0.2) / 3, (1 + 1 + 0) / 3),
        "previous_token": ((0.5 + 0.3) / 2, 1.0),  # rows 1 and 2 only
        "diagonal": ((1 + 0.5 + 0.5) / 3, 1 / 3),
        "mean_distance": ((0 + 0.5 + 0.2 * 2 + 0.3) / 3, (0 + 1 + 1) / 3),
        "induction": (0.3, 1.0),  # row 2 alone, key 1
    }
    for name, (first, second) in by_hand.items():
        assert stats[name][:, 0] == pytest.approx([first, second], abs=1e-6), name


def test_induction_is_nan_when_no_token_comes_back():
    stats = pattern_stats(causal_uniform(3), ["a", "b", "c"])
    assert np.isnan(stats["induction"][0, 0])
    assert np.isnan(pattern_stats(causal_uniform(2), ["a", "a"])["induction"][0, 0])  # p + 1 == i


def test_a_single_row_has_no_previous_token():
    stats = pattern_stats(np.ones((2, 3, 1, 1)))
    assert np.isnan(stats["previous_token"]).all()
    assert (stats["diagonal"] == 1.0).all() and (stats["entropy"] == 0.0).all()


def test_cross_attention_has_only_the_kind_free_statistics():
    pattern = np.full((1, 2, 3, 4), 0.25)  # 3 queries over 4 source keys, uniform
    stats = pattern_stats(pattern, self_attention=False)
    assert stats["entropy"] == pytest.approx(np.full((1, 2), math.log(4)))
    assert stats["max_weight"] == pytest.approx(np.full((1, 2), 0.25))
    assert stats["first_token"] == pytest.approx(np.full((1, 2), 0.25))
    for name in ("previous_token", "diagonal", "mean_distance", "induction"):
        assert np.isnan(stats[name]).all(), name


@pytest.mark.parametrize("shape, problem", [
    ((3, 3), r"\[layers, heads, queries, keys\]"),
    ((1, 1, 2, 3), "self-attention must be square"),
    ((1, 1, 0, 0), "no query rows"),
])
def test_malformed_patterns_are_named(shape, problem):
    with pytest.raises(ValueError, match=problem):
        pattern_stats(np.zeros(shape))


def test_a_token_list_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="3 tokens for 4 query positions"):
        pattern_stats(causal_uniform(4), ["a", "b", "c"])


@pytest.fixture(scope="module")
def trace():
    return make_tiny_model().run("the cat sees the cat", "le chat voit le chat")


def loop_reference(matrix: np.ndarray, tokens) -> dict[str, float]:
    """The DESIGN.md definitions, spelled out one row at a time."""
    n = len(matrix)
    rows = list(range(n))
    earlier = {}
    induction = []
    for i, token in enumerate(tokens):
        if token in earlier and earlier[token] + 1 < i:
            induction.append(matrix[i, earlier[token] + 1])
        earlier[token] = i
    return {
        "entropy": np.mean([-sum(a * math.log(a) for a in matrix[i] if a > 0) for i in rows]),
        "max_weight": np.mean([max(matrix[i]) for i in rows]),
        "first_token": np.mean([matrix[i, 0] for i in rows]),
        "previous_token": np.mean([matrix[i, i - 1] for i in rows[1:]]),
        "diagonal": np.mean([matrix[i, i] for i in rows]),
        "mean_distance": np.mean([sum(matrix[i, j] * abs(i - j) for j in rows) for i in rows]),
        "induction": np.mean(induction) if induction else math.nan,
    }


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
def test_a_traces_self_attention_matches_the_row_by_row_definitions(trace, kind):
    stats = head_stats(trace, kind)
    assert list(stats) == list(STATISTICS)
    layers, heads = trace.attention[kind].shape[:2]
    for name, values in stats.items():
        assert values.shape == (layers, heads) and values.dtype == np.float32, name
    tokens = trace.query_tokens(kind)
    for layer in range(layers):
        for head in range(heads):
            expected = loop_reference(trace.attention[kind][layer, head].astype(np.float64), tokens)
            for name, value in expected.items():
                assert stats[name][layer, head] == pytest.approx(value, abs=1e-5, nan_ok=True), name
    assert not np.isnan(stats["induction"]).any()  # "the cat" / "le chat" comes back


def test_a_traces_cross_attention_and_an_unknown_kind(trace):
    stats = head_stats(trace, "cross")
    assert np.isnan(stats["induction"]).all() and not np.isnan(stats["entropy"]).any()
    assert (stats["entropy"] >= 0).all() and (stats["max_weight"] <= 1 + 1e-6).all()
    with pytest.raises(ValueError, match="kind 'sideways' is not in this trace"):
        head_stats(trace, "sideways")
