"""Tokenizers of imported folders on the inputs researchers actually type: special tokens
in the text, Marian's ``>>lang<<`` prefix, T5's sentinels; and the JSON round trip."""

import pytest

import engine
from engine.tokenizer import tokenizer_from_json
from tests.engine.hf_fixtures import (
    FAMILIES,
    SENTENCES,
    hf_folder,
    load_reference,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)

pytest.importorskip("transformers")

TYPED_SPECIALS = [
    "The cat </s> sleeps",
    "<unk> at the start",
    "two<pad>glued<unk>specials",
    "The <extra_id_0> sleeps near <extra_id_1>.",
]


@pytest.fixture(scope="module", params=FAMILIES)
def tokenizers(request, tmp_path_factory):
    """(family, our model, transformers' tokenizer)."""
    folder = hf_folder(request.param, tmp_path_factory)
    _, reference_tokenizer = load_reference(folder)
    return request.param, engine.load(folder), reference_tokenizer


def test_special_tokens_typed_in_the_text_stay_whole(tokenizers):
    family, model, reference_tokenizer = tokenizers
    for text in TYPED_SPECIALS:
        if "extra_id" in text and "t5" not in family:
            continue  # only T5 has sentinels
        expected = reference_tokenizer(text)["input_ids"]
        assert model.tokenizer.encode(text).ids == expected, text


def test_tokenizer_json_round_trip_keeps_every_encoding(tokenizers):
    _, model, _ = tokenizers
    for tokenizer in (model.tokenizer, model.target_tokenizer):
        again = tokenizer_from_json(tokenizer.to_json())
        assert again.vocab_size == tokenizer.vocab_size
        for sentence in SENTENCES + TYPED_SPECIALS:
            assert again.encode(sentence) == tokenizer.encode(sentence), sentence


def test_marian_language_code_prefix_is_one_token(tmp_path_factory):
    folder = hf_folder("marian", tmp_path_factory)
    _, reference_tokenizer = load_reference(folder)
    model = engine.load(folder)
    for text in (">>fra<< Le petit chat", ">>de<<Die Straße", "no >>fr<< code here"):
        assert model.tokenizer.encode(text).ids == reference_tokenizer(text)["input_ids"], text


@pytest.mark.parametrize("family", ["t5", "t5_v1_1"])
def test_t5_sentinels_are_the_last_ids(tmp_path_factory, family):
    folder = hf_folder(family, tmp_path_factory)
    model = engine.load(folder)
    _, reference_tokenizer = load_reference(folder)
    last = model.config.vocab_size - 1
    assert model.tokenizer.token_to_id("<extra_id_0>") == last
    assert model.tokenizer.id_to_token(last) == "<extra_id_0>"
    for token in ("<extra_id_0>", "<extra_id_3>", "</s>", "<pad>", "<unk>"):
        assert model.tokenizer.token_to_id(token) == reference_tokenizer.convert_tokens_to_ids(token)
    assert model.tokenizer.token_to_id("<extra_id_99>") is None
