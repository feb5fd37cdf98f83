"""The logit lens against a step-by-step numpy recomputation, and against transformers' GPT-2."""

import numpy as np
import pytest
import torch

import engine
from engine.logit_lens import logit_lens
from tests.conftest import make_tiny_model
from tests.engine.hf_fixtures import one_torch_thread  # noqa: F401 (an autouse fixture)
from tests.single_stack_models import mlm_model

SOURCE, TARGET = "the small cat sees a dog .", "le petit chat voit"


def layer_norm_by_hand(x, gain, bias, eps):
    """LayerNorm one position at a time, the textbook way."""
    out = np.empty_like(x, dtype=np.float64)
    for p, row in enumerate(x.astype(np.float64)):
        mean = sum(row) / len(row)
        var = sum((v - mean) ** 2 for v in row) / len(row)
        out[p] = (row - mean) / np.sqrt(var + eps) * gain + (0 if bias is None else bias)
    return out


def softmax_by_hand(logits):
    out = np.empty_like(logits, dtype=np.float64)
    for p, row in enumerate(logits.astype(np.float64)):
        e = np.exp(row - row.max())
        out[p] = e / e.sum()
    return out


def reference_lens(model, trace, stack):
    """Top probability and true-next probability per row, from the raw weights (no engine code)."""
    weights = {k: v.double().numpy() for k, v in model.module.state_dict().items()}
    config = model.config
    layers = config.n_decoder_layers if stack == "decoder" else config.n_encoder_layers
    rows = [f"{stack}.0.resid_pre"] + [f"{stack}.{i}.resid_post" for i in range(layers)]
    table = weights.get("lm_head.weight", weights["token_embedding.weight"])
    tops, targets = [], []
    for name in rows:
        hidden = trace.activations[name].astype(np.float64)
        if config.has_final_norm:
            hidden = layer_norm_by_hand(hidden, weights[f"{stack}.final_norm.weight"],
                                        weights.get(f"{stack}.final_norm.bias"), config.norm_eps)
        logits = hidden @ table.T
        if config.final_logits_bias:
            logits = logits + weights["final_logits_bias"]
        probs = softmax_by_hand(logits)
        tops.append(probs.max(axis=1))
        nxt = [probs[p, trace.target_ids[p + 1]] if p + 1 < len(trace.target_ids) else np.nan
               for p in range(len(probs))]
        targets.append(nxt)
    return np.array(tops), np.array(targets)


@pytest.fixture(scope="module")
def pre_ln_decoder():
    model = make_tiny_model("decoder-only", seed=5, norm_placement="pre", final_logits_bias=True)
    with torch.no_grad():
        model.module.final_logits_bias.normal_(generator=torch.Generator().manual_seed(1))
    return model, model.run("the small cat sees a", max_new_tokens=3)


@pytest.mark.parametrize("which", ["post-LN encoder-decoder", "pre-LN decoder-only"])
def test_each_row_is_the_output_path_applied_to_that_layers_stream(which, pre_ln_decoder):
    if which == "pre-LN decoder-only":
        model, trace = pre_ln_decoder
        assert model.config.has_final_norm
    else:
        model = make_tiny_model(seed=2)
        trace = model.run(SOURCE, TARGET)
        assert not model.config.has_final_norm
    lens = logit_lens(model, trace)
    top, nxt = reference_lens(model, trace, "decoder")
    assert lens.top_probs.shape == (3, len(trace.target_tokens)) and lens.stack == "decoder"
    np.testing.assert_allclose(lens.top_probs, top, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lens.target_probs, nxt, rtol=1e-5, atol=1e-6)
    assert np.isnan(lens.target_probs[:, -1]).all() and not np.isnan(lens.target_probs[:, :-1]).any()
    assert lens.row_names == ("decoder.0.resid_pre", "decoder.0.resid_post", "decoder.1.resid_post")


@pytest.mark.parametrize("which", ["translator", "mlm", "pre-LN decoder-only"])
def test_the_last_row_is_the_models_own_output(which, pre_ln_decoder):
    if which == "translator":
        model = engine.load("assets/models/translator.safetensors")
        trace = model.run("the small cat sleeps")
    elif which == "mlm":  # a BERT-style head: its transform (dense, activation, norm) applies too
        model = mlm_model(output_transform=True, norm_placement="pre")
        trace = model.run("the cat [MASK] a dog .")
    else:
        model, trace = pre_ln_decoder
    lens = logit_lens(model, trace)
    logits = trace.logits.astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(lens.top_probs[-1], probs.max(axis=1), atol=1e-5)
    np.testing.assert_array_equal(lens.top_ids[-1], trace.logits.argmax(axis=1))
    shown = lens.target_ids >= 0
    np.testing.assert_allclose(lens.target_probs[-1, shown],
                               probs[np.flatnonzero(shown), lens.target_ids[shown]], atol=1e-5)
    if which == "mlm":  # the true token at each position is the input's own, except at the mask
        mask = trace.source_tokens.index("[MASK]")
        assert lens.stack == "encoder" and lens.target_ids[mask] == -1
        assert np.isnan(lens.target_probs[:, mask]).all()
        assert lens.target_ids[0] == trace.source_ids[0]


def test_a_model_without_an_output_head_is_refused_by_name():
    model = make_tiny_model("encoder-only", output_head=False)
    with pytest.raises(engine.InputError, match="no output head"):
        logit_lens(model, model.run("the cat sleeps"))


def test_a_trace_without_recording_is_refused():
    model = make_tiny_model("decoder-only")
    with pytest.raises(engine.InputError, match="record=False"):
        logit_lens(model, model.run("the cat", max_new_tokens=0, record=False))


def test_gpt2_lens_matches_transformers_lm_head_of_ln_f(tmp_path_factory):
    pytest.importorskip("transformers")
    from tests.engine.hf_fixtures_gpt2 import gpt2_folder, load_gpt2_reference

    folder = gpt2_folder("gpt2", tmp_path_factory)
    reference, _ = load_gpt2_reference(folder)
    model = engine.load(folder)
    trace = model.run("Prices rose in 2024; analysts were surprised!", max_new_tokens=4)
    with torch.no_grad():
        hidden = reference(torch.tensor([trace.target_ids]), output_hidden_states=True).hidden_states
        # hidden_states[-1] already has ln_f applied (transformers applies it before returning the
        # last state); the earlier ones are raw residual streams.
        states = [reference.transformer.ln_f(h) for h in hidden[:-1]] + [hidden[-1]]
        probs = [torch.softmax(reference.lm_head(s)[0].double(), dim=-1).numpy() for s in states]
    lens = logit_lens(model, trace)
    assert lens.top_probs.shape == (reference.config.n_layer + 1, len(trace.target_ids))
    for row, p in enumerate(probs):
        np.testing.assert_allclose(lens.top_probs[row], p.max(axis=1), atol=1e-5, err_msg=f"row {row}")
        np.testing.assert_array_equal(lens.top_ids[row], p.argmax(axis=1))
        nxt = p[np.arange(len(p) - 1), trace.target_ids[1:]]
        np.testing.assert_allclose(lens.target_probs[row, :-1], nxt, atol=1e-5)
