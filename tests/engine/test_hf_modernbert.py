"""An imported ModernBERT folder against transformers itself, on the same text.

Tolerances are the issue's: attention within 1e-5, hidden states and logits within 1e-4, tokens
identical. The local layers' windows bite at these lengths, so a wrong window, a wrong theta or
a swapped global/local layer shows in the numbers.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import engine
from tests.engine.hf_fixtures import (
    SENTENCES,
    SOURCE,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)
from tests.engine.hf_fixtures_modernbert import LOCAL_ATTENTION, load_reference, modernbert_folder

pytest.importorskip("transformers")

ATTENTION_TOL = 1e-5
STATE_TOL = 1e-4
TEXT = f"{SOURCE} {SENTENCES[1]}"  # 55 tokens: every local query misses most keys
WINDOW = LOCAL_ATTENTION // 2


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return modernbert_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def model(folder):
    return engine.load(folder)


@pytest.fixture(scope="module")
def reference(folder):
    return load_reference(folder)


@pytest.fixture(scope="module")
def compared(model, reference):
    """Our trace of TEXT and transformers' outputs for the very same ids."""
    trace = model.run(TEXT)
    with torch.no_grad():
        outputs = reference[0](input_ids=torch.tensor([trace.source_ids]), output_attentions=True,
                               output_hidden_states=True)
    return trace, outputs


def test_tokens_match_transformers_for_varied_sentences(model, reference):
    tokenizer = reference[1]
    for sentence in [*SENTENCES, "Paris is the [MASK] of France."]:  # [MASK] takes the space before it
        ids = tokenizer(sentence)["input_ids"]
        encoding = model.tokenizer.encode(sentence)
        assert encoding.ids == ids, sentence
        assert encoding.tokens == tokenizer.convert_ids_to_tokens(ids), sentence
        assert encoding.tokens[0] == "[CLS]" and encoding.tokens[-1] == "[SEP]"


def test_layers_are_global_and_local_as_transformers_reads_the_config(model, reference):
    hf = reference[0].config
    config = model.config
    assert config.local_layers == [i for i, t in enumerate(hf.layer_types) if t == "sliding_attention"]
    assert config.local_layers == [1, 2]  # global every 3rd layer: 0 and 3
    assert config.attention_window == hf.sliding_window == WINDOW
    assert [config.rope_theta_of(i) for i in range(4)] == [
        hf.rope_parameters[t]["rope_theta"] for t in hf.layer_types]
    assert model.kinds == ("encoder",) and not config.first_attention_norm


def test_the_window_bites_at_the_test_length(compared):
    trace, _ = compared
    assert len(trace.source_tokens) > 4 * WINDOW


def test_every_attention_head_matches_transformers(compared):
    trace, outputs = compared
    expected = torch.stack([layer[0] for layer in outputs.attentions]).numpy()
    assert trace.attention["encoder"].shape == expected.shape
    np.testing.assert_allclose(trace.attention["encoder"], expected, atol=ATTENTION_TOL, rtol=0)
    assert trace.attention["encoder"].max(axis=-1).mean() > 0.25  # far from uniform (1/55)


def test_local_layers_are_exactly_zero_outside_the_window_and_global_ones_nowhere(compared):
    trace, _ = compared
    length = len(trace.source_tokens)
    offsets = np.abs(np.arange(length)[:, None] - np.arange(length)[None, :])
    outside = offsets > WINDOW
    for layer in range(4):
        pattern = trace.attention["encoder"][layer]
        scores = trace.activations[f"encoder.{layer}.self_attn.scores"]
        np.testing.assert_allclose(pattern.sum(axis=-1), 1.0, atol=1e-6)
        if layer in (1, 2):
            assert (pattern[:, outside] == 0).all() and (pattern[:, ~outside] > 0).all()
            assert np.isneginf(scores[:, outside]).all() and np.isfinite(scores[:, ~outside]).all()
        else:
            assert (pattern > 0).all() and np.isfinite(scores).all()


def test_hidden_states_and_logits_match_transformers(model, compared):
    """hidden_states: the embedding norm's output, each layer's output, the last after the final norm."""
    trace, outputs = compared
    ours = [trace.activations["encoder.embed_norm.output"]]
    ours += [trace.activations[f"encoder.{i}.resid_post"] for i in range(model.config.n_encoder_layers)]
    ours[-1] = trace.activations["encoder.final_norm.output"]
    assert len(ours) == len(outputs.hidden_states)
    for i, (mine, expected) in enumerate(zip(ours, outputs.hidden_states, strict=True)):
        np.testing.assert_allclose(mine, expected[0].numpy(), atol=STATE_TOL, rtol=0,
                                   err_msg=f"hidden state {i}")
    np.testing.assert_allclose(trace.logits, outputs.logits[0].numpy(), atol=STATE_TOL, rtol=0)


def test_logits_match_transformers_for_every_sentence(model, reference):
    for sentence in SENTENCES:
        trace = model.run(sentence, record=False)
        with torch.no_grad():
            expected = reference[0](input_ids=torch.tensor([trace.source_ids])).logits[0].numpy()
        np.testing.assert_allclose(trace.logits, expected, atol=STATE_TOL, rtol=0, err_msg=sentence)


def test_a_2048_token_input_runs_and_matches_transformers(model, folder):
    """Rotary positions have no table to run out of; only learned ones limit the length.

    Only logits are compared, so transformers runs its SDPA attention: 4x faster than eager here.
    """
    from transformers import ModernBertForMaskedLM

    trace = model.run(" ".join([TEXT] * 38), record=False)
    assert 2048 <= len(trace.source_ids) < 2100 and trace.attention == {}
    fused = ModernBertForMaskedLM.from_pretrained(folder, attn_implementation="sdpa").eval()
    with torch.no_grad():
        expected = fused(input_ids=torch.tensor([trace.source_ids])).logits[0].numpy()
    np.testing.assert_allclose(trace.logits, expected, atol=STATE_TOL, rtol=0)


def test_the_old_config_layout_gives_the_same_model(model, tmp_path_factory):
    """Hub uploads keep global_attn_every_n_layers and global_/local_rope_theta instead."""
    from transformers import AutoConfig

    old = modernbert_folder(tmp_path_factory, "old_config")
    assert "layer_types" not in json.loads((old / "config.json").read_text())
    imported = engine.load(old)
    hf = AutoConfig.from_pretrained(old)
    assert imported.config.local_layers == [i for i, t in enumerate(hf.layer_types) if t != "full_attention"]
    assert (imported.config.rope_theta, imported.config.local_rope_theta) == (
        hf.rope_parameters["full_attention"]["rope_theta"],
        hf.rope_parameters["sliding_attention"]["rope_theta"])
    np.testing.assert_array_equal(imported.run(TEXT).logits, model.run(TEXT).logits)


def test_a_model_folder_without_head_has_no_logits_and_matches_last_hidden_state(tmp_path_factory):
    base = modernbert_folder(tmp_path_factory, "base")
    assert not any(k.startswith("model.") for k in load_file(str(base / "model.safetensors")))
    imported = engine.load(base)
    assert not imported.config.output_head
    trace = imported.run(TEXT)
    assert trace.logits is None
    reference, _ = load_reference(base, head=False)
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor([trace.source_ids])).last_hidden_state[0]
    np.testing.assert_allclose(trace.activations["encoder.final_norm.output"], expected.numpy(),
                               atol=STATE_TOL, rtol=0)


def test_a_classifier_folder_opens_as_its_encoder(model, folder, tmp_path):
    """ModernBertForSequenceClassification: the encoder is shown; its pooling head and
    classifier are no language-model head, so the model has no logits."""
    from transformers import ModernBertForSequenceClassification

    classifier = tmp_path / "modernbert-classifier"
    ModernBertForSequenceClassification.from_pretrained(folder, num_labels=3).save_pretrained(classifier)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(folder / name, classifier / name)
    imported = engine.load(classifier)
    assert not imported.config.output_head and imported.config.extra["task_head_left_out"]
    trace = imported.run(TEXT)
    assert trace.logits is None
    np.testing.assert_array_equal(trace.attention["encoder"], model.run(TEXT).attention["encoder"])


def test_an_untied_decoder_is_used_as_saved(folder, tmp_path):
    from transformers import ModernBertForMaskedLM

    untied = shutil.copytree(folder, tmp_path / "modernbert-untied")
    state = load_file(str(untied / "model.safetensors"))
    state["decoder.weight"] = torch.randn(state["model.embeddings.tok_embeddings.weight"].shape,
                                          generator=torch.Generator().manual_seed(3)) * 0.3
    save_file(state, str(untied / "model.safetensors"))
    _rewrite_config(untied, tie_word_embeddings=False)
    imported = engine.load(untied)
    assert not imported.config.tie_embeddings
    trace = imported.run(TEXT, record=False)
    reference = ModernBertForMaskedLM.from_pretrained(untied, attn_implementation="eager").eval()
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor([trace.source_ids])).logits[0].numpy()
    np.testing.assert_allclose(trace.logits, expected, atol=STATE_TOL, rtol=0)


def test_saved_native_checkpoint_keeps_the_local_layers(model, tmp_path):
    path = tmp_path / "modernbert.safetensors"
    model.save(path)
    again = engine.load(path)
    assert again.config.local_layers == [1, 2]
    assert again.config.local_rope_theta == model.config.local_rope_theta
    np.testing.assert_array_equal(again.run(TEXT).attention["encoder"], model.run(TEXT).attention["encoder"])


@pytest.fixture
def damaged(folder, tmp_path):
    """A private copy that a test may damage."""
    return shutil.copytree(folder, tmp_path / "modernbert-copy")


def _rewrite_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("changes, named", [
    ({"attention_bias": True}, "attention_bias=True with mlp_bias=False"),
    ({"rope_parameters": {"full_attention": {"rope_type": "yarn", "rope_theta": 1e4, "factor": 2.0},
                          "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}},
     "rope_type 'yarn'"),
    ({"layer_types": ["full_attention", "chunked_attention", "full_attention", "full_attention"]},
     "layer_types="),
    ({"hidden_activation": "quick_gelu"}, "activation 'quick_gelu'"),
])
def test_unsupported_options_are_refused_by_name(damaged, changes, named):
    _rewrite_config(damaged, **changes)
    with pytest.raises(engine.CheckpointError, match="modernbert-copy") as error:
        engine.load(damaged)
    assert named in str(error.value)


def test_weights_the_config_does_not_explain_are_named(damaged):
    weights = damaged / "model.safetensors"
    state = load_file(str(weights))
    state["model.layers.1.attn.Wqkv.bias"] = torch.zeros(96)
    save_file(state, str(weights))
    with pytest.raises(engine.CheckpointError, match="unexpected tensors.*model.layers.1.attn.Wqkv.bias"):
        engine.load(damaged)


def test_a_folder_without_tokenizer_json_is_refused(damaged):
    (damaged / "tokenizer.json").unlink()
    with pytest.raises(engine.CheckpointError, match="ModernBERT needs tokenizer.json"):
        engine.load(damaged)
