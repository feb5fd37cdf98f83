"""Imported Marian, BART and T5 folders against transformers itself, on the same text.

Tolerances are the issue's: attention within 1e-5, hidden states and logits within 1e-4,
tokens and greedy outputs identical.
"""

import numpy as np
import pytest
import torch

import engine
from tests.engine.hf_fixtures import (
    FAMILIES,
    SENTENCES,
    SOURCE,
    TARGET,
    hf_folder,
    load_reference,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)

pytest.importorskip("transformers")

ATTENTION_TOL = 1e-5
STATE_TOL = 1e-4
MAX_NEW_TOKENS = 12


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tmp_path_factory):
    """(name, folder, our model, transformers' model, transformers' tokenizer)."""
    folder = hf_folder(request.param, tmp_path_factory)
    reference, reference_tokenizer = load_reference(folder)
    return request.param, folder, engine.load(folder), reference, reference_tokenizer


@pytest.fixture(scope="module")
def compared(family):
    """Our trace of SOURCE -> TARGET and transformers' outputs for the very same ids."""
    _, _, model, reference, _ = family
    trace = model.run(SOURCE, TARGET)
    with torch.no_grad():
        outputs = reference(input_ids=torch.tensor([trace.source_ids]),
                            decoder_input_ids=torch.tensor([trace.target_ids]),
                            output_attentions=True, output_hidden_states=True)
    return trace, outputs


def test_source_tokens_match_transformers_for_varied_sentences(family):
    _, _, model, _, reference_tokenizer = family
    for sentence in SENTENCES:
        ids = reference_tokenizer(sentence)["input_ids"]
        encoding = model.tokenizer.encode(sentence)
        assert encoding.ids == ids, sentence
        assert encoding.tokens == reference_tokenizer.convert_ids_to_tokens(ids), sentence


def test_target_tokens_match_transformers_target_side(family):
    """Marian's target text goes through target.spm; the others share one tokenizer."""
    _, _, model, _, reference_tokenizer = family
    for sentence in SENTENCES[:8]:
        ids = reference_tokenizer(text_target=sentence)["input_ids"]
        assert model.target_tokenizer.encode(sentence).ids == ids, sentence


def test_decoded_text_matches_transformers(family):
    """What the app prints as the model's output: special tokens dropped, pieces joined."""
    _, _, model, _, reference_tokenizer = family
    for sentence in SENTENCES:
        ids = reference_tokenizer(text_target=sentence)["input_ids"]
        expected = reference_tokenizer.decode(ids, skip_special_tokens=True)
        assert model.target_tokenizer.decode(ids) == expected, sentence


def test_decoder_is_long_enough_for_t5_causal_buckets_to_matter(compared):
    trace, _ = compared
    assert len(trace.target_ids) > 10 and len(trace.source_ids) > 10


@pytest.mark.parametrize("kind", ["encoder", "decoder", "cross"])
def test_every_attention_head_matches_transformers(compared, kind):
    trace, outputs = compared
    theirs = {"encoder": outputs.encoder_attentions, "decoder": outputs.decoder_attentions,
              "cross": outputs.cross_attentions}[kind]
    expected = torch.stack([layer[0] for layer in theirs]).numpy()
    assert trace.attention[kind].shape == expected.shape
    np.testing.assert_allclose(trace.attention[kind], expected, atol=ATTENTION_TOL, rtol=0)
    # Random weights scaled to unit size keep patterns far from uniform, so a mapping
    # error (a swapped projection, a missing scale) cannot hide in near-equal weights.
    assert trace.attention[kind].max() > 0.3


def our_hidden_states(trace, stack: str, n_layers: int, final_norm: bool) -> list[np.ndarray]:
    """Our activations in transformers' hidden_states order (embeddings first)."""
    states = [trace.activations[f"{stack}.0.resid_pre"]]
    states += [trace.activations[f"{stack}.{i}.resid_post"] for i in range(n_layers)]
    if final_norm:  # T5 reports its last state after the stack's final norm
        states[-1] = trace.activations[f"{stack}.final_norm.output"]
    return states


@pytest.mark.parametrize("stack", ["encoder", "decoder"])
def test_hidden_states_match_transformers(family, compared, stack):
    _, _, model, _, _ = family
    trace, outputs = compared
    theirs = outputs.encoder_hidden_states if stack == "encoder" else outputs.decoder_hidden_states
    ours = our_hidden_states(trace, stack, model.n_layers(stack), model.config.has_final_norm)
    assert len(ours) == len(theirs)
    for i, (mine, expected) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(mine, expected[0].numpy(), atol=STATE_TOL, rtol=0,
                                   err_msg=f"{stack} hidden state {i}")


def test_logits_match_transformers(compared):
    trace, outputs = compared
    np.testing.assert_allclose(trace.logits, outputs.logits[0].numpy(), atol=STATE_TOL, rtol=0)


@pytest.mark.parametrize("source", [SOURCE, SENTENCES[4]])
def test_greedy_decoding_matches_generate(family, source):
    _, _, model, reference, reference_tokenizer = family
    ids = torch.tensor([reference_tokenizer(source)["input_ids"]])
    with torch.no_grad():
        expected = reference.generate(ids, num_beams=1, do_sample=False,
                                      max_new_tokens=MAX_NEW_TOKENS)[0].tolist()
    trace = model.run(source, max_new_tokens=MAX_NEW_TOKENS)
    assert trace.target_ids == expected
    assert trace.predicted_tokens[:-1] == trace.target_tokens[1:]


def test_model_facts_name_the_folder_and_family(family):
    name, folder, model, _, _ = family
    assert model.name == folder.name
    assert model.kinds == ("encoder", "decoder", "cross")
    assert model.config.extra["family"] == name.split("_")[0]


def test_saved_native_checkpoint_reproduces_the_import(family, tmp_path):
    """model.save() keeps the imported tokenizer too (Marian's SentencePiece pair included)."""
    _, _, model, _, _ = family
    path = tmp_path / "imported.safetensors"
    model.save(path)
    again = engine.load(path)
    before, after = model.run(SENTENCES[3], SENTENCES[1]), again.run(SENTENCES[3], SENTENCES[1])
    assert after.source_tokens == before.source_tokens
    assert after.target_tokens == before.target_tokens
    np.testing.assert_array_equal(after.logits, before.logits)
