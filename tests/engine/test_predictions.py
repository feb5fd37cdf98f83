"""The predictions analysis: each position's top-k equals the sorted softmax of the trace's logits."""

import numpy as np
import pytest

import engine
from engine.predictions import mask_positions, top_predictions
from tests.conftest import make_tiny_model
from tests.single_stack_models import mlm_model

TOLERANCE = dict(rtol=1e-5, atol=1e-7)  # float32 probabilities against a float64 reference


def reference_top(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and probabilities of a full float64 softmax, fully sorted (descending, stable by id)."""
    values = logits.astype(np.float64)
    probs = np.exp(values - values.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(probs, ids, axis=1)


@pytest.fixture(scope="module")
def decoder_run():
    model = make_tiny_model("decoder-only", seed=3)
    return model, model.run("the small cat", "sees a red house")


def test_top_k_is_the_sorted_softmax_of_the_logits(decoder_run):
    model, trace = decoder_run
    predictions = top_predictions(trace.logits, model.tokenizer.id_to_token, k=6)
    ids, probs = reference_top(trace.logits, 6)
    positions = len(trace.target_tokens)
    assert predictions.top_ids.shape == predictions.top_probs.shape == (positions, 6)
    assert predictions.top_ids.dtype == np.int64 and predictions.top_probs.dtype == np.float32
    np.testing.assert_array_equal(predictions.positions, np.arange(positions))
    np.testing.assert_array_equal(predictions.top_ids, ids)
    np.testing.assert_allclose(predictions.top_probs, probs, **TOLERANCE)
    assert np.all(np.diff(predictions.top_probs, axis=1) <= 0)  # descending along each row
    assert np.all(predictions.top_probs.sum(axis=1) <= 1 + 1e-6)
    assert predictions.top_tokens.tolist() == [[model.tokenizer.id_to_token(i) for i in row]
                                               for row in predictions.top_ids.tolist()]
    assert predictions.top_tokens[:, 0].tolist() == trace.predicted_tokens  # rank 1 is the argmax


def test_k_as_large_as_the_vocabulary_gives_every_token_and_probabilities_summing_to_one(decoder_run):
    model, trace = decoder_run
    vocab = trace.logits.shape[1]
    predictions = top_predictions(trace.logits, model.tokenizer.id_to_token, k=vocab + 50)
    assert predictions.k == vocab
    np.testing.assert_allclose(predictions.top_probs.sum(axis=1), 1.0, rtol=1e-5)
    assert all(sorted(row) == list(range(vocab)) for row in predictions.top_ids.tolist())


def test_ties_keep_the_lower_id_first_even_across_the_cut():
    logits = np.zeros((2, 6), dtype=np.float32)
    logits[0, [4, 1]] = 2.0  # two equal leaders, then four equal others
    logits[1, 5] = 1.0
    predictions = top_predictions(logits, str, k=3)
    assert predictions.top_ids.tolist() == [[1, 4, 0], [5, 0, 1]]
    e = np.exp(2.0)
    np.testing.assert_allclose(predictions.top_probs[0], [e / (2 * e + 4)] * 2 + [1 / (2 * e + 4)], rtol=1e-6)


def test_chosen_positions_only():
    logits = np.random.default_rng(0).normal(size=(5, 9)).astype(np.float32)
    predictions = top_predictions(logits, str, k=2, positions=[3, 1])
    ids, probs = reference_top(logits[[3, 1]], 2)
    assert predictions.positions.tolist() == [3, 1] and predictions.row_of(1) == 1
    np.testing.assert_array_equal(predictions.top_ids, ids)
    np.testing.assert_allclose(predictions.top_probs, probs, **TOLERANCE)
    assert predictions.row_of(0) is None


def test_an_mlm_head_predicts_at_the_mask_position():
    model = mlm_model()
    trace = model.run("the cat [MASK] a dog")
    assert mask_positions(trace.source_tokens) == [2] and trace.source_tokens[2] == "[MASK]"
    assert trace.logits.shape == (len(trace.source_tokens), model.config.vocab_size)
    predictions = top_predictions(trace.logits, model.tokenizer.id_to_token, k=4, positions=[2])
    ids, probs = reference_top(trace.logits[[2]], 4)
    np.testing.assert_array_equal(predictions.top_ids, ids)
    np.testing.assert_allclose(predictions.top_probs, probs, **TOLERANCE)
    assert mask_positions(["<s>", "<mask>", "cat", "[mask]"]) == [1]  # the pieces, exactly


@pytest.mark.parametrize("k, message", [(0, "top-k must be a positive integer, got 0"),
                                        (2.5, "top-k must be a positive integer, got 2.5"),
                                        (True, "top-k must be a positive integer, got True")])
def test_a_bad_k_is_refused_by_name(k, message):
    with pytest.raises(engine.InputError, match=message):
        top_predictions(np.zeros((2, 3), dtype=np.float32), str, k=k)


def test_without_logits_or_with_a_bad_position_it_says_why():
    with pytest.raises(engine.InputError, match="no output head"):
        top_predictions(None, str)
    with pytest.raises(engine.InputError, match=r"positions must be in 0\.\.1, got \[2\]"):
        top_predictions(np.zeros((2, 3), dtype=np.float32), str, positions=[2])
