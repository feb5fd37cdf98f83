"""Imported Gemma 2 and Gemma 3 folders against transformers itself.

Tolerances are the issue's: attention within 1e-5, hidden states and logits within 1e-4,
tokens and greedy continuations identical. Also: the soft-caps and the window bite at the test
length, Gemma 3's older config spelling, the text model of a vision folder, and the facts.
"""

import json
import shutil

import numpy as np
import pytest
import torch

import engine
from tests.engine.hf_fixtures import (
    SENTENCES,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)
from tests.engine.hf_fixtures_gemma import SOFTCAPS, VARIANTS, WINDOW, gemma_folder, load_reference

pytest.importorskip("transformers")

ATTENTION_TOL = 1e-5
STATE_TOL = 1e-4
NEW_TOKENS = 12
PROMPT = SENTENCES[16]  # "The committee will meet on Monday, 4 March 2024." : 26 tokens here
MEASURED: dict[str, dict[str, float]] = {}  # variant -> largest differences, for the report


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """variant -> (folder, our model, transformers' model, transformers' tokenizer), built once."""
    cache = {}

    def get(variant):
        if variant not in cache:
            folder = gemma_folder(variant, tmp_path_factory)
            cache[variant] = (folder, engine.load(folder), *load_reference(folder, variant))
        return cache[variant]

    return get


@pytest.fixture(scope="module")
def compared(loaded):
    """variant -> our trace of PROMPT and transformers' outputs for the same ids."""
    cache = {}

    def get(variant):
        if variant not in cache:
            _, model, reference, _ = loaded(variant)
            trace = model.run(PROMPT, max_new_tokens=0)
            with torch.no_grad():
                outputs = reference(torch.tensor([trace.target_ids]), output_attentions=True,
                                    output_hidden_states=True)
            cache[variant] = (trace, outputs)
        return cache[variant]

    return get


def test_tokens_match_transformers_with_the_start_token(loaded):
    _, model, _, reference_tokenizer = loaded("gemma2")
    for sentence in SENTENCES:
        ids = reference_tokenizer(sentence)["input_ids"]
        encoding = model.tokenizer.encode(sentence)
        assert encoding.ids == ids, sentence
        assert encoding.tokens == reference_tokenizer.convert_ids_to_tokens(ids), sentence
        assert ids[0] == reference_tokenizer.bos_token_id


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_attention_hidden_state_and_the_logits_match(compared, variant):
    trace, outputs = compared(variant)
    assert len(trace.target_ids) > 5 * WINDOW  # long enough for the window to bite
    ours, theirs = trace.attention["decoder"], np.stack([a[0].numpy() for a in outputs.attentions])
    assert ours.shape == theirs.shape
    attention = float(np.abs(ours - theirs).max())
    assert attention <= ATTENTION_TOL
    np.testing.assert_allclose(ours.sum(-1), 1.0, atol=1e-6)
    names = ["decoder.embed"] + [f"decoder.{i}.resid_post" for i in range(len(outputs.hidden_states) - 2)]
    names.append("decoder.final_norm.output")  # transformers' last entry is after the final norm
    states = max(float(np.abs(trace.activations[n] - h[0].numpy()).max())
                 for n, h in zip(names, outputs.hidden_states, strict=True))
    assert states <= STATE_TOL
    logits = float(np.abs(trace.logits - outputs.logits[0].numpy()).max())
    assert logits <= STATE_TOL
    MEASURED[variant] = {"attention": attention, "hidden": states, "logits": logits}
    print(f"\n{variant}: attention {attention:.1e}, hidden states {states:.1e}, logits {logits:.1e}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_local_layers_see_exactly_the_last_window_keys(compared, loaded, variant):
    trace, _ = compared(variant)
    config = loaded(variant)[1].config
    attention = trace.attention["decoder"]
    length = attention.shape[-1]
    far = np.tril(np.ones((length, length), bool), -WINDOW)  # keys at least WINDOW behind
    local = [i for i in range(config.n_decoder_layers) if config.window_of(i)]
    assert local == ([0, 2] if variant == "gemma2" else [0, 1, 3])
    for layer in range(config.n_decoder_layers):
        beyond = attention[layer][:, far]
        if layer in local:
            assert np.all(beyond == 0.0)
        else:
            assert beyond.max() > 1e-3


def test_gemma2_soft_caps_bite_on_scores_and_logits(compared, loaded):
    trace, _ = compared("gemma2")
    model = loaded("gemma2")[1]
    config = model.config
    assert (config.attention_softcap, config.final_logit_softcap) == (
        SOFTCAPS["attn_logit_softcapping"], SOFTCAPS["final_logit_softcapping"])
    q, k = trace.activations["decoder.1.self_attn.q"], trace.activations["decoder.1.self_attn.k"]
    k = np.repeat(k, q.shape[0] // k.shape[0], axis=0)  # each key/value head serves two query heads
    raw = q @ k.transpose(0, 2, 1) / np.sqrt(config.query_pre_attn_scalar)
    cap = config.attention_softcap
    assert np.abs(raw).max() > 1.5 * cap
    scores = trace.activations["decoder.1.self_attn.scores"]
    seen = np.isfinite(scores)  # the causal mask's -inf aside
    assert np.array_equal(seen, np.broadcast_to(np.tril(np.ones(seen.shape[1:], bool)), seen.shape))
    np.testing.assert_allclose(scores[seen], (np.tanh(raw / cap) * cap)[seen], atol=1e-5)
    table = model.module.token_embedding.weight.detach().numpy()
    raw_logits = trace.activations["decoder.final_norm.output"] @ table.T  # the unscaled table
    assert np.abs(raw_logits).max() > 1.5 * config.final_logit_softcap
    np.testing.assert_allclose(trace.logits, np.tanh(raw_logits / 8.0) * 8.0, atol=1e-4)


def test_embedding_scale_is_root_d_in_float32_like_transformers(compared, loaded):
    trace, outputs = compared("gemma3_text")
    model = loaded("gemma3_text")[1]
    table = model.module.token_embedding.weight.detach()
    scale = torch.tensor(model.config.d_model ** 0.5)  # float32, as transformers' own buffer
    expected = (table[trace.target_ids] * scale).numpy()
    assert np.array_equal(trace.activations["decoder.embed"], expected)
    assert np.array_equal(outputs.hidden_states[0][0].numpy(), expected)


@pytest.mark.parametrize("variant", VARIANTS)
def test_greedy_continuation_matches_generate(loaded, variant):
    _, model, reference, reference_tokenizer = loaded(variant)
    for prompt in (SENTENCES[0], SENTENCES[4]):
        ids = torch.tensor([reference_tokenizer(prompt)["input_ids"]])
        with torch.no_grad():
            expected = reference.generate(ids, num_beams=1, do_sample=False,
                                          max_new_tokens=NEW_TOKENS)[0].tolist()
        trace = model.run(prompt, max_new_tokens=NEW_TOKENS)
        assert trace.target_ids == expected
        assert len(expected) == ids.shape[1] + NEW_TOKENS


def test_gemma3_older_config_spelling_opens_the_same_model(loaded, tmp_path):
    folder, model, _, _ = loaded("gemma3_text")
    copy = shutil.copytree(folder, tmp_path / "gemma3-old")
    config = json.loads((copy / "config.json").read_text())
    del config["layer_types"], config["rope_parameters"]
    config |= {"sliding_window_pattern": 3, "rope_theta": 100000.0, "rope_local_base_freq": 500.0,
               "rope_scaling": {"rope_type": "linear", "factor": 2.0}}
    (copy / "config.json").write_text(json.dumps(config))
    older = engine.load(copy)
    for name in ("local_layers", "attention_window", "rope_theta", "local_rope_theta", "rope_scaling"):
        assert getattr(older.config, name) == getattr(model.config, name), name
    assert np.array_equal(older.run(PROMPT, max_new_tokens=0).logits,
                          model.run(PROMPT, max_new_tokens=0).logits)


def test_converted_gemma_keeps_every_setting(loaded, tmp_path):
    _, model, _, _ = loaded("gemma2")
    path = tmp_path / "gemma2.safetensors"
    model.save(path)
    again = engine.load(path)
    assert again.config == model.config
    assert np.array_equal(again.run(PROMPT, max_new_tokens=0).logits,
                          model.run(PROMPT, max_new_tokens=0).logits)


def test_the_facts_name_local_layers_soft_caps_and_a_text_model_alone(loaded):
    from visualizer.widgets.input_panel import model_facts

    facts = dict(model_facts(loaded("gemma2")[1]))
    assert facts["Family"] == "Gemma 2"
    assert facts["Blocks"] == "a norm on each sublayer's output too"
    assert facts["Heads"] == "4 query heads share 2 key/value heads (2 per group)"
    assert facts["Attention"] == f"layers 0, 2 local (last {WINDOW} tokens); 1, 3 global"
    assert facts["Soft-capped"] == "attention scores at ±5; logits at ±8 (c·tanh(x / c))"
    facts = dict(model_facts(loaded("gemma3")[1]))
    assert facts["Family"] == "Gemma 3"
    assert facts["Blocks"] == "RMSNorm on each head's q and k; a norm on each sublayer's output too"
    assert facts["Positions"].startswith("rotary (θ 100,000 global / 500 local")
    assert "Soft-capped" not in facts
    assert facts["Text model only"].startswith("the image encoder (")


def test_bidirectional_gemma_is_refused_by_name(loaded, tmp_path):
    folder = shutil.copytree(loaded("gemma3_text")[0], tmp_path / "embedding-gemma")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"use_bidirectional_attention": True}))
    with pytest.raises(engine.CheckpointError, match="use_bidirectional_attention"):
        engine.load(folder)
