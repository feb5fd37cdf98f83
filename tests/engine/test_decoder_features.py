"""Engine features of modern decoder LLMs, checked against their definitions: grouped-query
attention, parallel attention + MLP blocks, q/k norms and rotary frequency scaling."""

import json
import math

import numpy as np
import pytest
import torch

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


# ---- parallel blocks, q/k norms, biases -------------------------------------------------------
def test_parallel_blocks_add_attention_and_ffn_of_the_same_stream():
    trace = decoder(parallel_blocks=True, norm_type="layernorm", norm_bias=True).run(
        PROMPT, max_new_tokens=0)
    acts = trace.activations
    assert not any(name.endswith("resid_mid") for name in acts)
    for layer in range(2):
        name = f"decoder.{layer}"
        np.testing.assert_array_equal(acts[f"{name}.norm_self.input"], acts[f"{name}.resid_pre"])
        np.testing.assert_array_equal(acts[f"{name}.norm_ffn.input"], acts[f"{name}.resid_pre"])
        np.testing.assert_allclose(acts[f"{name}.resid_post"], acts[f"{name}.resid_pre"]
                                   + acts[f"{name}.self_attn.out"] + acts[f"{name}.ffn.out"], atol=1e-6)


def test_qk_norms_record_per_head_and_feed_rotary():
    model = decoder(qk_norm=True, n_kv_heads=2, norm_eps=1e-6)
    trace = model.run(PROMPT, max_new_tokens=0)
    acts = trace.activations
    length = len(trace.target_ids)
    name = "decoder.1.self_attn"
    assert acts[f"{name}.q_norm.input"].shape == (4, length, 8)
    assert acts[f"{name}.k_norm.std"].shape == (2, length)
    for part, heads in (("q", 4), ("k", 2)):
        raw = acts[f"{name}.{part}_norm.input"]
        std = np.sqrt((raw ** 2).mean(-1) + 1e-6)
        np.testing.assert_allclose(acts[f"{name}.{part}_norm.std"], std, rtol=1e-5)
        normed = acts[f"{name}.{part}_norm.output"]
        # rotary keeps each position's length: the norm's output rotated is what q·k uses
        np.testing.assert_allclose(np.linalg.norm(acts[f"{name}.{part}"], axis=-1),
                                   np.linalg.norm(normed, axis=-1), rtol=1e-5)
        assert acts[f"{name}.{part}"].shape[0] == heads
    assert model.module.decoder.layers[0].self_attn.q_norm.weight.shape == (8,)


def test_separate_bias_switches_give_qkv_biases_without_an_output_bias():
    model = decoder(bias=False, qkv_bias=True)
    attention = model.module.decoder.layers[0].self_attn
    assert [p.bias is not None for p in (attention.q_proj, attention.k_proj, attention.v_proj)] == [True] * 3
    assert attention.out_proj.bias is None
    assert model.module.decoder.layers[0].ffn.w1.bias is None
    neox = decoder(bias=True, ffn_bias=True, out_bias=True)
    assert neox.module.decoder.layers[0].self_attn.out_proj.bias is not None


# ---- rotary scaling ------------------------------------------------------------------------------
LLAMA3 = {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_positions": 64}


@pytest.mark.parametrize("scaling", [LLAMA3, {"type": "linear", "factor": 4.0}])
def test_rope_scaling_matches_transformers_frequencies(scaling):
    pytest.importorskip("transformers")
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    from engine.positions import RotaryEmbedding

    parameters = {"rope_type": scaling["type"], "rope_theta": 5000.0,
                  **{k: v for k, v in scaling.items() if k not in ("type", "original_max_positions")}}
    if "original_max_positions" in scaling:
        parameters["original_max_position_embeddings"] = scaling["original_max_positions"]
    config = LlamaConfig(hidden_size=64, num_attention_heads=2, rope_parameters=parameters,
                         max_position_embeddings=512)
    expected, attention_factor = ROPE_INIT_FUNCTIONS[scaling["type"]](config, "cpu")
    rotary = RotaryEmbedding(32, 5000.0, scaling)
    cos, _ = rotary.tables(200, torch.device("cpu"))
    angles = torch.arange(200).float()[:, None] * expected[None, :]
    assert attention_factor == 1.0
    torch.testing.assert_close(cos, torch.cat([angles, angles], -1).cos(), atol=1e-6, rtol=0)
    plain = RotaryEmbedding(32, 5000.0).tables(200, torch.device("cpu"))[0]
    assert float((cos - plain).abs().max()) > 0.1  # the scaling changes the angles


def test_a_rope_scaled_model_round_trips_through_a_native_file(tmp_path):
    model = decoder(rope_scaling=dict(LLAMA3))
    path = tmp_path / "scaled.safetensors"
    model.save(path)
    loaded = engine.load(path)
    assert loaded.config.rope_scaling == LLAMA3
    assert np.array_equal(loaded.run(PROMPT).logits, model.run(PROMPT).logits)


@pytest.mark.parametrize("overrides,message", [
    ({"rope_scaling": {"type": "yarn", "factor": 4.0}}, "rope_scaling type 'yarn' is not supported; "
                                                        "supported: linear, llama3"),
    ({"rope_scaling": {"type": "linear"}}, r"needs factor as a positive number, got None"),
    ({"rope_scaling": {"type": "linear", "factor": 2, "beta": 1}}, "unknown settings: beta"),
    ({"parallel_blocks": True}, "parallel_blocks needs norm_placement 'pre'"),
])
def test_impossible_decoder_settings_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        engine.ModelConfig(**overrides)
