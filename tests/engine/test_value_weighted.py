"""Value norms ‖v_j W_O^h‖ against a manual v @ W_O, and the weighting they give."""

import numpy as np
import pytest
import torch

import engine
from engine.value_weighted import head_value_norms, value_norms, value_weighted
from tests.conftest import make_tiny_model


@pytest.fixture(scope="module")
def run():
    model = make_tiny_model(seed=6)
    return model, model.run("the small cat sees a red house .", "le petit chat voit")


@pytest.mark.parametrize("kind, layer", [("encoder", 1), ("decoder", 0), ("cross", 1)])
def test_norms_are_the_length_of_each_keys_value_through_its_heads_w_o(run, kind, layer):
    model, trace = run
    hook = engine.KINDS[kind].hook.format(layer)
    stack, _, part = hook.split(".")
    attention = getattr(getattr(model.module, stack).layers[layer], part)
    d_head = model.config.head_dim
    # Independently: run the value projection on the attention's input ourselves.
    source = "encoder" if kind == "encoder" else "decoder"
    stream = trace.activations[f"encoder.{model.config.n_encoder_layers - 1}.resid_post"] \
        if kind == "cross" else trace.activations[f"{source}.{layer}.resid_pre"]
    with torch.no_grad():
        v = attention.v_proj(torch.from_numpy(np.array(stream))).double().numpy()  # post-LN: no norm
        w_out = attention.out_proj.weight.double().numpy()
    norms = value_norms(model, trace, kind, layer)
    assert norms.shape == (model.config.n_heads, len(stream))
    for h in range(model.config.n_heads):
        for j in range(len(stream)):
            moved = w_out[:, h * d_head:(h + 1) * d_head] @ v[j, h * d_head:(h + 1) * d_head]
            assert norms[h, j] == pytest.approx(np.sqrt(np.sum(moved ** 2)), rel=1e-5)


def test_grouped_query_heads_read_their_shared_value_head():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(2, 5, 3)).astype(np.float32)  # 2 kv heads for 4 query heads
    w_out = rng.normal(size=(6, 12)).astype(np.float32)
    norms = head_value_norms(v, w_out, 4)
    for h, kv in enumerate((0, 0, 1, 1)):
        expected = np.linalg.norm(v[kv].astype(np.float64) @ w_out[:, 3 * h:3 * h + 3].T, axis=1)
        np.testing.assert_allclose(norms[h], expected, rtol=1e-6)
    with pytest.raises(engine.InputError, match="do not fit 3 heads"):
        head_value_norms(v, w_out, 3)


def test_a_grouped_query_models_norms_follow_its_value_projection():
    model = make_tiny_model("decoder-only", seed=2, n_kv_heads=2)
    trace = model.run("the small cat sees", max_new_tokens=0)
    attention = model.module.decoder.layers[0].self_attn
    assert trace.activations["decoder.0.self_attn.v"].shape[0] == 2
    with torch.no_grad():
        v = attention.v_proj(torch.from_numpy(np.array(trace.activations["decoder.0.resid_pre"])))
        v = v.double().numpy().reshape(len(trace.target_ids), 2, -1)
        w_out = attention.out_proj.weight.double().numpy()
    d_head = v.shape[-1]
    norms = value_norms(model, trace, "decoder", 0)
    for h in range(4):
        expected = np.linalg.norm(v[:, h // 2] @ w_out[:, h * d_head:(h + 1) * d_head].T, axis=1)
        np.testing.assert_allclose(norms[h], expected, rtol=1e-5)


def test_weighting_multiplies_then_renormalises_each_row():
    weights = np.array([[[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]]], dtype=np.float32)  # 1 head, 2 queries
    norms = np.array([[3.0, 1.0, 2.0]], dtype=np.float32)
    raw = value_weighted(weights, norms, renormalise=False)
    np.testing.assert_allclose(raw[0], [[1.5, 0.5, 0.0], [0.3, 0.2, 1.4]], rtol=1e-6)
    shown = value_weighted(weights, norms)
    np.testing.assert_allclose(shown[0], [[0.75, 0.25, 0.0], [0.3 / 1.9, 0.2 / 1.9, 1.4 / 1.9]], rtol=1e-6)


def test_a_trace_without_values_is_refused(run):
    model, _ = run
    with pytest.raises(engine.InputError, match="encoder.0.self_attn.v"):
        value_norms(model, model.run("the cat", record=False), "encoder", 0)
