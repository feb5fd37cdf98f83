"""Engine features of modern decoder LLMs, checked against their definitions: grouped-query
attention, parallel attention + MLP blocks, q/k norms and rotary frequency scaling."""

import json
import math

import numpy as np
import pytest

import engine
from tests.conftest import make_tiny_model

PROMPT = "the small cat sees the big red dog and the small house"


def decoder(**overrides):
    settings = dict(positions="rotary", norm_placement="pre", norm_type="rmsnorm",
                    norm_bias=False, bias=False, activation="silu", gated_ffn=True,
                    scale_embeddings=False, n_heads=4)
    settings.update(overrides)
    return make_tiny_model("decoder-only", **settings)


# ---- grouped-query attention --------------------------------------------------------------
def test_grouped_query_heads_share_key_value_heads_as_repeated_full_heads():
    """A 4-query, 2-kv-head model equals a full 4-head model whose k/v weights repeat each
    kv head for its two query heads; k and v are recorded once per kv head."""
    grouped = decoder(n_kv_heads=2)
    full = decoder()
    state = {k: v.clone() for k, v in grouped.module.state_dict().items()}
    for name, tensor in list(state.items()):
        if name.endswith(("k_proj.weight", "v_proj.weight")):
            state[name] = tensor.view(2, 8, 32).repeat_interleave(2, dim=0).reshape(32, 32)
    full.module.load_state_dict(state)
    ours, reference = grouped.run(PROMPT, max_new_tokens=0), full.run(PROMPT, max_new_tokens=0)
    length = len(ours.target_ids)
    for layer in range(2):
        name = f"decoder.{layer}.self_attn"
        k, v = ours.activations[f"{name}.k"], ours.activations[f"{name}.v"]
        assert k.shape == v.shape == (2, length, 8)
        assert ours.activations[f"{name}.q"].shape == ours.activations[f"{name}.z"].shape == (4, length, 8)
        assert ours.activations[f"{name}.scores"].shape == (4, length, length)
        np.testing.assert_array_equal(np.repeat(k, 2, axis=0), reference.activations[f"{name}.k"])
        # query head h reads kv head h // 2: its scores are its q against that k
        q = ours.activations[f"{name}.q"]
        scores = ours.activations[f"{name}.scores"]
        visible = np.isfinite(scores)
        expected = np.einsum("hqd,hkd->hqk", q / math.sqrt(8), np.repeat(k, 2, axis=0))
        np.testing.assert_allclose(scores[visible], expected[visible], atol=1e-5)
    assert ours.attention["decoder"].shape == (2, 4, length, length)
    np.testing.assert_allclose(ours.attention["decoder"], reference.attention["decoder"], atol=1e-6)
    np.testing.assert_allclose(ours.logits, reference.logits, atol=1e-5)


def test_grouped_query_config_round_trips_and_native_files_without_it_load(tmp_path):
    model = decoder(n_kv_heads=1)
    assert model.module.decoder.layers[0].self_attn.k_proj.weight.shape == (8, 32)
    path = tmp_path / "gqa.safetensors"
    model.save(path)
    loaded = engine.load(path)
    assert loaded.config.n_kv_heads == 1 and loaded.config.kv_heads == 1
    assert np.array_equal(loaded.run(PROMPT).logits, model.run(PROMPT).logits)
    data = json.loads(model.config.to_json())
    del data["n_kv_heads"]  # a checkpoint written before the field existed
    assert engine.ModelConfig.from_dict(data).kv_heads == data["n_heads"]


@pytest.mark.parametrize("value,message", [
    (3, "n_heads=4 is not a multiple of n_kv_heads=3"),
    (0, r"n_kv_heads=0 is outside 1\.\.1024"),
    (2.0, "n_kv_heads must be an integer, or null"),
])
def test_impossible_kv_head_counts_are_named(value, message):
    with pytest.raises(ValueError, match=message):
        engine.ModelConfig(n_heads=4, d_model=32, n_kv_heads=value)
