"""Imported BERT, RoBERTa and DistilBERT folders against transformers itself, on the same text.

Tolerances are the issue's: tokens identical, attention within 1e-5, hidden states and logits
within 1e-4. WordPiece training breaks ties differently from run to run, so the tiny
vocabularies vary; every check here holds for any of them.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import engine
from engine.importers.hf_files import tokenizer_config
from engine.importers.tokenizer_files import wordpiece_tokenizer
from tests.engine.hf_fixtures import SENTENCES, one_torch_thread  # noqa: F401 (autouse)
from tests.engine.hf_fixtures_encoders import (
    MASKED_TEXT,
    MAX_TOKENS,
    encoder_folder,
    load_encoder_reference,
)

pytest.importorskip("transformers")

ATTENTION_TOL = 1e-5
STATE_TOL = 1e-4
MODELS = ("bert", "roberta", "distilbert", "bert_st")  # each compared with transformers' model
TOKENIZERS = ("bert", "bert_legacy", "bert_cased_vocab", "bert_st", "bert_st_subfolder",
              "roberta", "roberta_files", "distilbert")


@pytest.fixture(scope="module", params=MODELS)
def family(request, tmp_path_factory):
    """(name, our model, transformers' model, transformers' tokenizer)."""
    folder = encoder_folder(request.param, tmp_path_factory)
    reference, reference_tokenizer = load_encoder_reference(folder, request.param != "bert_st")
    return request.param, engine.load(folder), reference, reference_tokenizer


@pytest.fixture(scope="module")
def compared(family):
    """Our trace of the family's masked text and transformers' outputs for the very same ids."""
    _, model, reference, reference_tokenizer = family
    text = MASKED_TEXT.format(mask=reference_tokenizer.mask_token)
    trace = model.run(text)
    assert trace.source_ids == reference_tokenizer(text)["input_ids"]
    with torch.no_grad():
        outputs = reference(input_ids=torch.tensor([trace.source_ids]), output_attentions=True,
                            output_hidden_states=True)
    return trace, outputs


@pytest.mark.parametrize("name", TOKENIZERS)
def test_tokens_match_transformers_for_varied_sentences(name, tmp_path_factory):
    """tokenizer.json, vocab.txt (uncased, and cased with stripped accents), a saved truncation
    to 8 tokens that must not apply, vocab.json + merges.txt: each as transformers reads it."""
    from transformers import AutoTokenizer

    folder = encoder_folder(name, tmp_path_factory)
    if name == "bert_cased_vocab":  # tokenizer files alone, no model
        ours = wordpiece_tokenizer(folder, "BERT", tokenizer_config(folder))
    else:
        ours = engine.load(folder).tokenizer
    theirs = AutoTokenizer.from_pretrained(folder / "0_Transformer" if "subfolder" in name else folder)
    for sentence in [*SENTENCES, MASKED_TEXT.format(mask=theirs.mask_token)]:
        ids = theirs(sentence)["input_ids"]
        encoding = ours.encode(sentence)
        assert encoding.ids == ids, sentence
        assert encoding.tokens == theirs.convert_ids_to_tokens(ids), sentence
    first, last = ("<s>", "</s>") if "roberta" in name else ("[CLS]", "[SEP]")
    assert encoding.tokens[0] == first and encoding.tokens[-1] == last
    assert len(encoding.ids) > 8  # the st folder's saved truncation is off


def test_cased_vocab_keeps_case_and_strips_accents(tmp_path_factory):
    """The vocab.txt settings are read, not BERT's defaults (lowercase, accents kept if cased)."""
    folder = encoder_folder("bert_cased_vocab", tmp_path_factory)
    tokens = wordpiece_tokenizer(folder, "BERT", tokenizer_config(folder)).encode("Elle a été").tokens
    assert "".join(tokens[1:-1]).replace("##", "") == "Elleaete"


def test_a_typed_mask_is_one_token_predicted_as_transformers_does(family, compared):
    name, model, _, reference_tokenizer = family
    trace, outputs = compared
    mask_id = reference_tokenizer.mask_token_id
    assert trace.source_ids.count(mask_id) == 1
    at = trace.source_ids.index(mask_id)
    assert trace.source_tokens[at] == reference_tokenizer.mask_token
    if name == "bert_st":  # a BertModel predicts nothing
        assert trace.predicted_tokens == []
        return
    expected = reference_tokenizer.convert_ids_to_tokens(int(outputs.logits[0, at].argmax()))
    assert trace.predicted_tokens[at] == expected


def test_every_attention_head_matches_transformers(compared):
    trace, outputs = compared
    expected = torch.stack([layer[0] for layer in outputs.attentions]).numpy()
    assert trace.attention["encoder"].shape == expected.shape == (2, 4, *expected.shape[2:])
    np.testing.assert_allclose(trace.attention["encoder"], expected, atol=ATTENTION_TOL, rtol=0)
    np.testing.assert_allclose(trace.attention["encoder"].sum(-1), 1.0, atol=1e-5)
    # Unit-scale weights keep patterns far from uniform, so a mapping error cannot hide.
    assert trace.attention["encoder"].max() > 0.3


def test_hidden_states_match_transformers(compared):
    """hidden_states[0] is the embedding output after its LayerNorm; [i] is layer i-1's output."""
    trace, outputs = compared
    ours = [trace.activations["encoder.0.resid_pre"]]
    ours += [trace.activations[f"encoder.{i}.resid_post"] for i in range(2)]
    assert len(ours) == len(outputs.hidden_states)
    for i, (mine, expected) in enumerate(zip(ours, outputs.hidden_states, strict=True)):
        np.testing.assert_allclose(mine, expected[0].numpy(), atol=STATE_TOL, rtol=0,
                                   err_msg=f"hidden state {i}")


def test_logits_match_transformers_or_are_absent_without_a_head(family, compared):
    name, model, _, _ = family
    trace, outputs = compared
    if name == "bert_st":
        assert not model.config.output_head and trace.logits is None
        return
    assert trace.logits.shape == (len(trace.source_ids), model.config.vocab_size)
    np.testing.assert_allclose(trace.logits, outputs.logits[0].numpy(), atol=STATE_TOL, rtol=0)


def test_the_last_position_matches_and_one_more_is_refused(family):
    """At exactly the table's length the last rows are used (RoBERTa's offset included); one
    token more raises InputError saying how many the model accepts."""
    _, model, reference, reference_tokenizer = family
    assert model.config.max_positions == MAX_TOKENS
    first = len(reference_tokenizer("the")["input_ids"])  # with the specials; " the" adds one
    words = ["the"] * (1 + MAX_TOKENS - first)
    assert len(reference_tokenizer(" ".join(words))["input_ids"]) == MAX_TOKENS
    trace = model.run(" ".join(words))
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor([trace.source_ids]), output_hidden_states=True)
    np.testing.assert_allclose(trace.activations["encoder.1.resid_post"],
                               expected.hidden_states[-1][0].numpy(), atol=STATE_TOL, rtol=0)
    with pytest.raises(engine.InputError, match=f"has {MAX_TOKENS + 1} tokens.*accepts at most "
                                                f"{MAX_TOKENS}"):
        model.run(" ".join(words + ["the"]))


def test_model_facts(family):
    name, model, _, _ = family
    assert model.kinds == ("encoder",)
    config = model.config
    assert config.extra["family"] == name.split("_")[0]
    assert config.position_offset == (2 if name == "roberta" else 0)
    assert config.type_vocab_size == {"bert": 2, "bert_st": 2, "roberta": 1, "distilbert": 0}[name]
    assert config.tie_embeddings == (name != "distilbert")  # its fixture has its own projector


@pytest.mark.parametrize("copy, original", [("bert_legacy", "bert"), ("bert_st_subfolder", "bert_st"),
                                            ("roberta_files", "roberta")])
def test_other_layouts_of_the_same_weights_give_the_same_trace(copy, original, tmp_path_factory):
    """gamma/beta pytorch_model.bin with a stored decoder, pooler and NSP head; weights in
    0_Transformer/; RoBERTa without tokenizer.json."""
    text = SENTENCES[16]
    theirs = engine.load(encoder_folder(original, tmp_path_factory)).run(text)
    ours = engine.load(encoder_folder(copy, tmp_path_factory)).run(text)
    assert ours.source_tokens == theirs.source_tokens
    np.testing.assert_array_equal(ours.attention["encoder"], theirs.attention["encoder"])
    if theirs.logits is None:
        assert ours.logits is None
    else:
        np.testing.assert_array_equal(ours.logits, theirs.logits)


def test_an_older_sentence_transformers_folder_opens_from_its_module_subfolder(tmp_path_factory):
    """No config.json at the top: only 0_Transformer/ holds the model, as modules.json says."""
    folder = tmp_path_factory.mktemp("st-old") / "all-old-layout"
    shutil.copytree(encoder_folder("bert_st_subfolder", tmp_path_factory), folder)
    (folder / "config.json").unlink()
    text = SENTENCES[16]
    ours = engine.load(folder)
    theirs = engine.load(encoder_folder("bert_st", tmp_path_factory)).run(text)
    assert ours.name == "all-old-layout"
    np.testing.assert_array_equal(ours.run(text).attention["encoder"], theirs.attention["encoder"])


@pytest.mark.parametrize("name, tensor", [
    ("bert", "bert.encoder.layer.1.attention.self.key.weight"),
    ("bert", "cls.predictions.bias"),
    ("bert_st", "embeddings.token_type_embeddings.weight"),
    ("roberta", "lm_head.dense.weight"),  # a ForMaskedLM folder promises its head
    ("distilbert", "vocab_projector.weight"),  # untied: there is no table to fall back on
    ("distilbert", "distilbert.transformer.layer.0.sa_layer_norm.bias"),
])
def test_a_missing_tensor_is_named(name, tensor, tmp_path, tmp_path_factory):
    folder = tmp_path / name
    shutil.copytree(encoder_folder(name, tmp_path_factory), folder)
    state = load_file(str(folder / "model.safetensors"))
    del state[tensor]
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(engine.CheckpointError, match=f"missing tensor '{tensor}'"):
        engine.load(folder)


@pytest.mark.parametrize("setting, named", [({"position_embedding_type": "relative_key"}, "relative_key"),
                                            ({"is_decoder": True}, "is_decoder"),
                                            ({"add_cross_attention": True}, "add_cross_attention")])
def test_configs_the_engine_cannot_run_are_refused_by_name(setting, named, tmp_path, tmp_path_factory):
    folder = tmp_path / "edited"
    shutil.copytree(encoder_folder("bert", tmp_path_factory), folder)
    config = json.loads((folder / "config.json").read_text()) | setting
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(engine.CheckpointError, match=named):
        engine.load(folder)


def test_saved_native_checkpoint_reproduces_the_import(tmp_path, tmp_path_factory):
    """model.save() keeps the WordPiece tokenizer and the MLM head."""
    model = engine.load(encoder_folder("bert", tmp_path_factory))
    model.save(tmp_path / "bert.safetensors")
    again = engine.load(tmp_path / "bert.safetensors")
    text = MASKED_TEXT.format(mask="[MASK]")
    before, after = model.run(text), again.run(text)
    assert after.source_tokens == before.source_tokens
    np.testing.assert_array_equal(after.logits, before.logits)
