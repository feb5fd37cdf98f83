"""Any text into run(): control characters, NUL, lone surrogates, RTL marks, combining marks, emoji,
whitespace alone, 10,000 characters. The shipped translator and a Hugging Face GPT-2 folder give
either an InputError or a valid trace: every attention row sums to 1, and nothing is NaN."""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import engine

TRANSLATOR = "assets/models/translator.safetensors"
# Small enough that the longest texts are refused by the memory guard in a millisecond instead of
# recording hundreds of megabytes: a refusal is one of the two outcomes the property allows.
BUDGET = 30 * 10**6
PIECES = [
    "\x00", "\x01", "\x07", "\x1b[31m", "\x7f", "\x85", "\r\n", "\t", "\x0b\x0c",  # control
    "\ud800", "\udfff", "a\udc80b",  # lone surrogates (Python allows them in str)
    "\u200f", "\u202e", "\u2067", "\u061c", "مرحبا", "שלום",  # right-to-left
    "e\u0301", "\u0338" * 5, "a\u20dd\u0489",  # combining marks
    "🙂", "👩‍👩‍👧", "🇫🇷", "🏳️‍🌈", "\ufe0f",  # emoji, ZWJ sequences, flags, a variation selector
    " ", "\u3000", "\u2028", "\u00a0", "\u200b",  # spaces, a line separator, a zero-width space
    "\ufffd", "\uffff", "\U0010ffff",  # the replacement character and noncharacters
    "the cat", "le chat", "[MASK]", "<s>", "</s>", "<|endoftext|>",  # words and special-token text
]
TEXTS = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.text(max_size=40),  # any code point but surrogates
    st.builds(lambda piece, count: piece * count, st.sampled_from(PIECES), st.integers(1, 10_000)),
)
SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
LONG = {"emoji": "🙂" * 10_000, "NUL": "\x00" * 10_000, "combining": "e\u0301" * 5_000,
        "RTL": "\u202e" * 10_000, "spaces": " " * 10_000}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run far faster on one thread of a shared machine (tests/visualizer/conftest.py)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def translator():
    model = engine.load(TRANSLATOR)
    model.memory_budget = BUDGET
    return model


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    pytest.importorskip("transformers")  # builds the folder; the app never imports it
    from tests.engine.hf_fixtures_gpt2 import gpt2_folder

    model = engine.load(gpt2_folder("gpt2", tmp_path_factory))
    model.memory_budget = BUDGET
    return model


def check_run(model, text: str, **kwargs) -> None:
    """``model.run(text)`` raises InputError with a message, or returns a valid trace."""
    try:
        trace = model.run(text, max_new_tokens=2, **kwargs)
    except engine.InputError as error:
        assert str(error).strip(), "an InputError must say what is wrong"
        return
    for kind, stack in trace.attention.items():
        assert not np.isnan(stack).any(), kind
        np.testing.assert_allclose(stack.sum(axis=-1), 1.0, atol=1e-5, err_msg=kind)
    assert trace.logits is not None and not np.isnan(trace.logits).any()
    assert len(trace.predicted_tokens) == trace.logits.shape[0]


@SETTINGS
@given(text=TEXTS)
@example(text=LONG["emoji"])
@example(text="\u3000 \t\u2028")  # whitespace alone
@example(text="\ud800")
def test_any_text_into_the_translator(translator, text):
    check_run(translator, text)


@SETTINGS
@given(text=TEXTS)
@example(text=LONG["NUL"])
@example(text="\u202eمرحبا 🙂 e\u0301\x00")
@example(text="\udfff the cat")
def test_any_text_into_a_gpt2_folder(gpt2, text):
    check_run(gpt2, text)


@pytest.mark.parametrize("name", LONG)
def test_ten_thousand_characters_end_quickly_in_an_input_error_or_a_trace(translator, gpt2, name):
    import time

    text = LONG[name]
    for model in (translator, gpt2):
        start = time.perf_counter()
        check_run(model, text)
        assert time.perf_counter() - start < 2.0
