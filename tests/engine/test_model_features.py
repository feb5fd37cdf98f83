"""Engine features the single-stack families need: rotary positions, per-layer local windows,
token types, an MLM head transform and a layer without an attention norm."""

import math

import numpy as np
import pytest
import torch

import engine
from engine.positions import RotaryEmbedding
from tests.conftest import make_tiny_model

SENTENCE = "the small cat sees the big red dog and the small house"


def rotary_reference(x: torch.Tensor, dims: int, theta: float) -> torch.Tensor:
    """Rotation written as complex multiplication: pair (i, i + dims/2) by pos · theta^(-2i/dims)."""
    length = x.shape[-2]
    half = dims // 2
    frequencies = theta ** (-torch.arange(half, dtype=torch.float64) * 2 / dims)
    angles = torch.arange(length, dtype=torch.float64)[:, None] * frequencies
    pairs = torch.complex(x[..., :half].double(), x[..., half:dims].double())
    turned = pairs * torch.polar(torch.ones_like(angles), angles)
    out = x.double().clone()
    out[..., :half], out[..., half:dims] = turned.real, turned.imag
    return out.float()


@pytest.mark.parametrize("dims,theta", [(16, 10000.0), (8, 160000.0), (6, 10000.0)])
def test_rotary_equals_complex_rotation(dims, theta):
    x = torch.randn(1, 2, 40, 16, generator=torch.Generator().manual_seed(0))
    rotated = RotaryEmbedding(dims, theta)(x)
    torch.testing.assert_close(rotated, rotary_reference(x, dims, theta), atol=2e-5, rtol=1e-5)
    assert torch.equal(rotated[..., dims:], x[..., dims:])  # partial rotary: the rest pass through


def test_rotary_scores_depend_only_on_the_offset():
    rotary = RotaryEmbedding(16, 10000.0)
    q = torch.randn(16, generator=torch.Generator().manual_seed(1))
    k = torch.randn(16, generator=torch.Generator().manual_seed(2))
    same = torch.stack([q] * 30).view(1, 1, 30, 16)
    keys = torch.stack([k] * 30).view(1, 1, 30, 16)
    rq, rk = rotary(same)[0, 0], rotary(keys)[0, 0]
    scores = rq @ rk.T
    for offset in (0, 3, 11):
        diagonal = torch.diagonal(scores, -offset)
        assert float(diagonal.max() - diagonal.min()) < 1e-4


def test_rotary_matches_transformers_llama_rotation():
    transformers = pytest.importorskip("transformers")
    from transformers.models.llama import modeling_llama

    config = transformers.LlamaConfig(hidden_size=64, num_attention_heads=4, rope_theta=5000.0)
    reference = modeling_llama.LlamaRotaryEmbedding(config)
    x = torch.randn(1, 4, 33, 16, generator=torch.Generator().manual_seed(3))
    positions = torch.arange(33)[None]
    cos, sin = reference(x, positions)
    expected, _ = modeling_llama.apply_rotary_pos_emb(x, x, cos, sin)
    torch.testing.assert_close(RotaryEmbedding(16, 5000.0)(x), expected, atol=1e-6, rtol=1e-6)


def rotary_model(**overrides):
    return make_tiny_model("encoder-only", positions="rotary", norm_placement="pre",
                           output_head=True, **overrides)


def test_rotary_model_records_rotated_q_and_k_and_exact_scores():
    trace = rotary_model().run(SENTENCE)
    assert "encoder.pos_embed" not in trace.activations
    for layer in range(2):
        name = f"encoder.{layer}.self_attn"
        q, k = trace.activations[f"{name}.q"], trace.activations[f"{name}.k"]
        scores = trace.activations[f"{name}.scores"]
        np.testing.assert_allclose(scores, (q / math.sqrt(q.shape[-1])) @ k.transpose(0, 2, 1),
                                   atol=1e-5)
    np.testing.assert_allclose(trace.attention["encoder"].sum(-1), 1.0, atol=1e-5)


def test_rotary_model_runs_2048_tokens_and_learned_positions_name_their_limit():
    long_text = " ".join(["the cat sees the dog"] * 410)  # 2,050 words + end token
    trace = rotary_model().run(long_text, record=False)
    assert trace.logits.shape[0] == 2051
    learned = make_tiny_model("encoder-only", positions="learned", max_positions=512)
    with pytest.raises(engine.InputError, match="the text has 2051 tokens; this model accepts at most 512"):
        learned.run(long_text)


def test_local_layers_use_their_window_and_the_others_attend_globally():
    model = rotary_model(attention_window=2, local_layers=[1], local_rope_theta=500.0)
    attention = model.run(SENTENCE).attention["encoder"]
    offsets = np.abs(np.subtract.outer(np.arange(attention.shape[-1]), np.arange(attention.shape[-1])))
    assert np.all(attention[1][:, offsets > 2] == 0.0)  # exact zeros outside ±2
    assert np.all(attention[0][:, offsets > 2] > 0.0)  # the global layer sees every key
    thetas = [layer.self_attn.rotary.theta for layer in model.module.encoder.layers]
    assert thetas == [10000.0, 500.0]


def test_causal_local_layers_see_the_last_w_keys():
    model = make_tiny_model("decoder-only", positions="rotary", norm_placement="pre",
                            attention_window=3, local_layers=[0])
    attention = model.run("the cat sees the dog and the red house", max_new_tokens=0).attention["decoder"]
    rows, columns = np.indices(attention.shape[-2:])
    visible = (rows - columns >= 0) & (rows - columns < 3)
    assert np.all(attention[0][:, ~visible] == 0.0)
    assert np.all(attention[1][:, rows < columns] == 0.0)
    assert np.all(attention[1][:, rows - columns >= 3] > 0.0)


def test_token_type_zero_is_added_at_every_position():
    model = make_tiny_model("encoder-only", positions="learned", type_vocab_size=2, embed_norm=True)
    table = model.module.encoder.token_type_table.weight.detach().numpy()
    trace = model.run(SENTENCE)
    types = trace.activations["encoder.type_embed"]
    assert np.array_equal(types, np.broadcast_to(table[0], types.shape))
    inputs = trace.activations["encoder.embed_norm.input"]
    np.testing.assert_allclose(inputs, trace.activations["encoder.embed"] + table[0]
                               + trace.activations["encoder.pos_embed"], atol=1e-6)


def test_output_transform_is_dense_activation_norm_then_the_tied_projection():
    model = make_tiny_model("encoder-only", output_head=True, output_transform=True,
                            output_activation="gelu", final_logits_bias=True)
    with torch.no_grad():
        model.module.final_logits_bias.uniform_(-1, 1)
    trace = model.run(SENTENCE)
    head = model.module.output_transform
    hidden = torch.from_numpy(trace.activations["encoder.1.resid_post"].copy())
    with torch.no_grad():
        dense = torch.nn.functional.gelu(head.dense(hidden))
        normed = torch.nn.functional.layer_norm(dense, (32,), head.norm.weight, head.norm.bias, 1e-5)
        expected = normed @ model.module.token_embedding.weight.T + model.module.final_logits_bias
    np.testing.assert_allclose(trace.activations["output_transform.hidden"], dense.numpy(), atol=1e-6)
    np.testing.assert_allclose(trace.logits, expected.numpy(), atol=1e-5)


def test_a_first_layer_without_attention_norm_adds_attention_to_the_raw_stream():
    model = rotary_model(first_attention_norm=False)
    trace = model.run(SENTENCE)
    assert not any(name.startswith("encoder.0.norm_self") for name in trace.activations)
    assert "encoder.1.norm_self.input" in trace.activations
    np.testing.assert_allclose(trace.activations["encoder.0.resid_mid"],
                               trace.activations["encoder.0.resid_pre"]
                               + trace.activations["encoder.0.self_attn.out"], atol=1e-6)


def test_every_new_feature_survives_a_checkpoint_round_trip(tmp_path):
    model = rotary_model(attention_window=2, local_layers=[0], local_rope_theta=300.0,
                         rotary_fraction=0.5, type_vocab_size=2, output_transform=True,
                         first_attention_norm=False, final_logits_bias=True)
    path = tmp_path / "features.safetensors"
    model.save(path)
    loaded = engine.load(path)
    assert loaded.config == model.config
    assert np.array_equal(loaded.run(SENTENCE).logits, model.run(SENTENCE).logits)


@pytest.mark.parametrize("overrides,message", [
    ({"rotary_fraction": 0.0}, "rotary_fraction"),
    ({"local_layers": [0, -1]}, "local_layers"),
    ({"positions": "rotary", "rope_theta": 0.5}, "rope_theta"),
    ({"output_activation": "tanhh"}, "output_activation"),
])
def test_impossible_feature_settings_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        engine.ModelConfig(**overrides)
