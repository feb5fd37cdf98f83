"""Tokenizers: the tokens the user sees, unknown words, text round trips, JSON round trips."""

import engine
from engine.tokenizer import tokenizer_from_json


def test_word_level_tokens_elision_and_unknown_words():
    tok = engine.word_level_tokenizer(["l'", "homme", "mange", "le", "pain", ".", ","])
    enc = tok.encode("L'homme mange le gâteau, le pain.")
    assert enc.tokens == ["l'", "homme", "mange", "le", "<unk>", ",", "le", "pain", ".", "</s>"]
    assert enc.ids[4] == 1 and enc.ids[-1] == 3
    assert tok.decode(tok.encode("l'homme mange le pain.").ids) == "l'homme mange le pain."


def test_json_round_trip_preserves_encoding():
    tok = engine.word_level_tokenizer(["a", "b", "c"])
    again = tokenizer_from_json(tok.to_json())
    assert again.encode("a c x b").tokens == tok.encode("a c x b").tokens
    assert again.vocab_size == tok.vocab_size == 7


def test_bpe_tokenizer_splits_unseen_words_into_known_pieces():
    texts = ["the cat sat on the mat", "the dog sat on the log", "cats and dogs"] * 20
    tok = engine.bpe_tokenizer(texts, vocab_size=60)
    enc = tok.encode("the cats sat")
    assert enc.tokens[-1] == "</s>"
    assert "<unk>" not in enc.tokens
    assert tok.decode(enc.ids) == "the cats sat"
    assert tok.kind == "BPE"
