"""Attention rollout against a loop-by-loop recomputation of DESIGN.md's definition."""

import numpy as np
import pytest

import engine
from engine.rollout import rollout
from tests.conftest import make_tiny_model


def hand_step(heads, fusion):
    """Â = 0.5·F(A) + 0.5·I with rows renormalised, one cell at a time."""
    n_heads, q, k = heads.shape
    out = np.zeros((q, k))
    for i in range(q):
        for j in range(k):
            values = [heads[h, i, j] for h in range(n_heads)]
            fused = sum(values) / n_heads if fusion == "mean" else max(values)
            out[i, j] = 0.5 * fused + (0.5 if i == j else 0.0)
        out[i] /= sum(out[i])
    return out


def hand_product(a, b):
    return np.array([[sum(a[i, m] * b[m, j] for m in range(a.shape[1])) for j in range(b.shape[1])]
                     for i in range(a.shape[0])])


# A hand-checkable 2-layer, 2-head example over 3 tokens (rows sum to 1).
LAYER0 = np.array([[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]],
                   [[0, 1, 0], [1, 0, 0], [0, 0, 1]]], dtype=np.float32)
LAYER1 = np.array([[[0.6, 0.4, 0], [0, 1, 0], [0.1, 0.1, 0.8]],
                   [[0, 0, 1], [0, 0, 1], [0, 0, 1]]], dtype=np.float32)
ENCODER = np.stack([LAYER0, LAYER1])


def test_mean_rollout_of_two_layers_by_hand():
    # Layer 0, mean of heads: row 0 = [0.5, 0.5, 0] → Â row 0 = [0.75, 0.25, 0], and so on.
    step0 = np.array([[0.75, 0.25, 0.0], [0.375, 0.625, 0.0], [0.05, 0.075, 0.875]])
    np.testing.assert_allclose(hand_step(LAYER0, "mean"), step0)
    np.testing.assert_allclose(rollout({"encoder": ENCODER}, "encoder", 0), step0, atol=1e-7)
    expected = hand_product(hand_step(LAYER1, "mean"), step0)
    got = rollout({"encoder": ENCODER}, "encoder", 1)
    assert got.dtype == np.float32 and got.shape == (3, 3)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_max_fusion_renormalises_rows():
    expected = hand_product(hand_step(LAYER1, "max"), hand_step(LAYER0, "max"))
    got = rollout({"encoder": ENCODER}, "encoder", 1, "max")
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)


def test_cross_rollout_goes_back_through_decoder_cross_and_encoder():
    decoder = np.stack([LAYER0[:, :2, :2] / LAYER0[:, :2, :2].sum(-1, keepdims=True)] * 2)
    cross = np.array([[[[0.2, 0.2, 0.6], [0.5, 0.5, 0]], [[1, 0, 0], [0, 0, 1]]]] * 2, dtype=np.float32)
    attention = {"encoder": ENCODER, "decoder": decoder.astype(np.float32), "cross": cross}
    for fusion in ("mean", "max"):
        dec = hand_product(hand_step(decoder[1], fusion), hand_step(decoder[0], fusion))
        x = cross[1].mean(axis=0) if fusion == "mean" else cross[1].max(axis=0)
        x = x / x.sum(axis=1, keepdims=True)  # no identity term: the residual holds no source token
        enc = hand_product(hand_step(LAYER1, fusion), hand_step(LAYER0, fusion))
        expected = hand_product(hand_product(dec, x), enc)
        got = rollout(attention, "cross", 1, fusion)
        assert got.shape == (2, 3)
        np.testing.assert_allclose(got, expected, atol=1e-6, err_msg=fusion)
        np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)


def test_identity_attention_rolls_out_to_the_identity():
    eye = np.broadcast_to(np.eye(5, dtype=np.float32), (3, 2, 5, 5))
    for fusion in ("mean", "max"):
        np.testing.assert_array_equal(rollout({"decoder": eye}, "decoder", 2, fusion), np.eye(5))


@pytest.mark.parametrize("kind", ["encoder", "decoder", "cross"])
def test_rows_of_a_real_models_rollout_sum_to_one_and_stay_causal(kind):
    model = make_tiny_model(seed=4)
    trace = model.run("the small cat sees a red house .", "le petit chat voit")
    for fusion in ("mean", "max"):
        matrix = rollout(trace.attention, kind, 1, fusion)
        np.testing.assert_allclose(matrix.sum(axis=1), 1, atol=1e-5)
        if kind == "decoder":  # a product of causal matrices is causal: exact zeros above
            assert np.all(np.triu(matrix, 1) == 0)


def test_bad_requests_are_named():
    with pytest.raises(engine.InputError, match="layer 2 is out of range"):
        rollout({"encoder": ENCODER}, "encoder", 2)
    with pytest.raises(engine.InputError, match="'mean' or 'max'"):
        rollout({"encoder": ENCODER}, "encoder", 0, "sum")
    with pytest.raises(engine.InputError, match="kind 'cross' is not in this trace"):
        rollout({"encoder": ENCODER}, "cross", 0)
