"""How tokens read: byte-level pieces decoded to text, "▁" and "Ġ" as one word-start mark, split
characters as their bytes, special tokens as they are; traces keep the tokenizer's own pieces."""

import pytest

from engine.readable_tokens import WORD_START, at_position, readable_token, readable_tokens
from tests.byte_level import byte_level_model, byte_level_tokenizer


def test_byte_level_pieces_read_as_the_text_they_encode():
    assert WORD_START == "·"
    assert readable_tokens(["Ġcaf", "Ã©"], "byte-level") == ["·caf", "é"]
    assert readable_token("ĠðŁĻĤ", "byte-level") == "·🙂"
    assert readable_token("ĠĠ", "byte-level") == "··"  # whitespace-only pieces stay visible


def test_the_word_start_mark_is_the_same_for_sentencepiece_and_gpt():
    assert readable_token("▁chat", "metaspace") == readable_token("Ġchat", "byte-level") == "·chat"
    assert readable_token("▁", "metaspace") == "·"
    assert readable_token("##ing", "wordpiece") == "##ing"  # a continuation, no word start


def test_a_character_split_across_pieces_shows_its_bytes():
    # "é" is the two bytes C3 A9; 🙂 is F0 9F 99 82. Half a character is never a wrong character.
    assert readable_tokens(["fÃ", "©"], "byte-level") == ["f\\xc3", "\\xa9"]
    assert readable_tokens(["ĠðŁ", "ĻĤ"], "byte-level") == ["·\\xf0\\x9f", "\\x99\\x82"]


@pytest.mark.parametrize(("piece", "style"), [("<|endoftext|>", "byte-level"), ("[CLS]", "wordpiece"),
                                              ("<s>", "metaspace"), ("</s>", "plain"), ("cat", "plain")])
def test_special_and_plain_tokens_read_as_they_are(piece, style):
    assert readable_token(piece, style) == piece


def test_line_breaks_tabs_and_spaces_are_visible_marks():
    assert readable_token("Ċ", "byte-level") == "↵"  # "\n" as a byte-level piece
    assert readable_token("ĉ", "byte-level") == "⇥"
    assert readable_token("\n", "plain") == "↵" and readable_token("\n", "wordpiece") == "↵"
    assert readable_token(" ", "plain") == "·"
    assert readable_token("Âł", "byte-level") == "\\xa0"  # a no-break space: shown as its escape


def test_a_position_tells_repeated_tokens_apart():
    assert at_position("·the", 3) != at_position("·the", 7) == '"·the" #7'


def test_a_byte_level_tokenizer_is_detected_and_its_pieces_join_to_the_text():
    tokenizer = byte_level_tokenizer()
    assert tokenizer.style == "byte-level"
    text = "the café 🙂 sees\nthe cat"
    pieces = tokenizer.encode(text).tokens
    assert pieces[-1] == "</s>" and "ĠcafÃ©" in pieces
    assert "".join(readable_tokens(pieces[:-1], tokenizer.style)) == "the·café·🙂·sees↵the·cat"


def test_a_trace_keeps_the_pieces_and_reads_them_through_its_style():
    model = byte_level_model()
    trace = model.run("the café 🙂", "le café")
    assert trace.token_style == "byte-level"
    assert trace.source_tokens == ["the", "ĠcafÃ©", "ĠðŁĻĤ", "</s>"]  # what the tokenizer gives
    assert trace.target_tokens == ["<s>", "le", "ĠcafÃ©", "</s>"]
    assert trace.readable_tokens("source") == ["the", "·café", "·🙂", "</s>"]
    assert trace.readable_tokens("target") == ["<s>", "le", "·café", "</s>"]


def test_control_characters_read_as_escapes_never_as_empty_boxes():
    assert readable_token("ā", "byte-level") == "\\x01"  # byte 0x01: what a random LM writes
    assert readable_token("Ġā", "byte-level") == "·\\x01"
    assert readable_token("a\u200bb", "metaspace") == "a\\u200bb"  # a zero-width space shows
    assert readable_token("Ċ", "byte-level") == "↵"  # newlines keep their arrow
