"""Recording is a pass-through, and the recorded values agree with each other."""

import numpy as np
import pytest

from engine.trace import Trace
from tests.conftest import make_tiny_model

SENTENCE = "the small cat sees a big red dog"


@pytest.mark.parametrize("architecture", ["encoder-decoder", "encoder-only", "decoder-only"])
@pytest.mark.parametrize("norm_placement", ["post", "pre"])
def test_logits_bit_identical_with_recording_on_and_off(architecture, norm_placement):
    model = make_tiny_model(architecture, norm_placement=norm_placement)
    target = "le petit chat" if architecture == "encoder-decoder" else None
    kwargs = dict(max_new_tokens=4) if architecture == "decoder-only" else {}
    on = model.run(SENTENCE, target, **kwargs)
    off = model.run(SENTENCE, target, record=False, **kwargs)
    assert on.activations and not off.activations and not off.attention
    assert np.array_equal(on.logits, off.logits)
    assert on.target_tokens == off.target_tokens


def _trace(**overrides) -> Trace:
    return make_tiny_model(**overrides).run(SENTENCE, "le petit chat voit le chien")


@pytest.mark.parametrize("norm_type", ["layernorm", "rmsnorm"])
def test_norm_internals_are_consistent(norm_type):
    acts = _trace(norm_type=norm_type).activations
    norms = sorted({name.rsplit(".", 1)[0] for name in acts if name.endswith(".normalized")})
    assert len(norms) == 2 * 2 + 2 * 3  # two per encoder layer, three per decoder layer
    for norm in norms:
        x, std, normalized = acts[f"{norm}.input"], acts[f"{norm}.std"], acts[f"{norm}.normalized"]
        if norm_type == "layernorm":
            mean = acts[f"{norm}.mean"]
            np.testing.assert_allclose(mean, x.mean(-1), atol=1e-5)
            np.testing.assert_allclose(std, np.sqrt(x.var(-1) + 1e-5), rtol=1e-5)
            np.testing.assert_allclose(normalized, (x - mean[:, None]) / std[:, None], atol=1e-5)
        else:
            assert f"{norm}.mean" not in acts
            np.testing.assert_allclose(std, np.sqrt((x ** 2).mean(-1) + 1e-5), rtol=1e-5)
            np.testing.assert_allclose(normalized, x / std[:, None], atol=1e-5)


def _softmax(scores):
    shifted = np.exp(scores - scores.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def test_attention_is_softmax_of_scores_and_z_is_attention_times_v():
    trace = _trace()
    for kind, hook in (("encoder", "encoder.{}.self_attn"), ("decoder", "decoder.{}.self_attn"),
                       ("cross", "decoder.{}.cross_attn")):
        for layer in range(2):
            name = hook.format(layer)
            scores = trace.activations[f"{name}.scores"]
            pattern = trace.attention[kind][layer]
            np.testing.assert_allclose(pattern, _softmax(scores), atol=1e-6)
            z = trace.activations[f"{name}.z"]
            np.testing.assert_allclose(z, pattern @ trace.activations[f"{name}.v"], atol=1e-5)
            q, k = trace.activations[f"{name}.q"], trace.activations[f"{name}.k"]
            raw = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
            finite = np.isfinite(scores)
            np.testing.assert_allclose(scores[finite], raw[finite], atol=1e-5)


def test_causal_scores_are_minus_infinity_above_the_diagonal():
    scores = _trace().activations["decoder.0.self_attn.scores"]
    T = scores.shape[-1]
    above = np.triu(np.ones((T, T), dtype=bool), 1)
    assert np.all(np.isneginf(scores[:, above])) and np.all(np.isfinite(scores[:, ~above]))


@pytest.mark.parametrize("norm_placement", ["post", "pre"])
def test_residual_stream_links_layers(norm_placement):
    acts = _trace(norm_placement=norm_placement).activations
    for stack in ("encoder", "decoder"):
        assert np.array_equal(acts[f"{stack}.0.resid_post"], acts[f"{stack}.1.resid_pre"])
        if norm_placement == "post":
            # In a post-LN model the stream is the norm's output; the raw sum is its input.
            assert np.array_equal(acts[f"{stack}.0.resid_mid"], acts[f"{stack}.0.norm_self.output"])
            np.testing.assert_allclose(
                acts[f"{stack}.0.norm_self.input"],
                acts[f"{stack}.0.resid_pre"] + acts[f"{stack}.0.self_attn.out"], atol=1e-5)
        else:
            np.testing.assert_allclose(
                acts[f"{stack}.0.resid_mid"],
                acts[f"{stack}.0.resid_pre"] + acts[f"{stack}.0.self_attn.out"], atol=1e-5)


def test_trace_arrays_are_read_only_float32():
    trace = _trace()
    for name, array in {**trace.activations, **trace.attention}.items():
        assert array.dtype == np.float32, name
        assert not array.flags.writeable, name
        assert array.flags.c_contiguous, name
