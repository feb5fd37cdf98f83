"""A checkpoint whose weights hold NaN or inf loads (the file is the user's), names those tensors,
and its trace shows the NaN where it arises instead of hiding it."""

import numpy as np
import pytest

import engine
from tests.conftest import make_tiny_model

SOURCE, TARGET = "the small cat sleeps", "le petit chat dort"


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory):
    """A tiny model whose "chat" embedding row is NaN and one FFN weight +inf, saved and loaded."""
    model = make_tiny_model()
    chat = model.tokenizer.token_to_id("chat")
    model.module.token_embedding.weight.data[chat] = float("nan")
    model.module.encoder.layers[1].ffn.w2.weight.data[0, 0] = float("inf")
    path = tmp_path_factory.mktemp("nan") / "nan.safetensors"
    model.save(path)
    return engine.load(path)


def test_loading_names_the_tensors_that_hold_nan_or_inf(poisoned):
    assert poisoned.nonfinite_tensors == ("token_embedding.weight", "encoder.layers.1.ffn.w2.weight")
    assert make_tiny_model().nonfinite_tensors == ()


def test_the_trace_shows_where_the_nan_and_inf_arise(poisoned):
    trace = poisoned.run("the small cat", TARGET)  # "chat" is a target token only
    encoder = trace.attention["encoder"]
    assert np.isfinite(encoder).all()  # the inf comes after the encoder's last attention
    np.testing.assert_allclose(encoder.sum(axis=-1), 1.0, atol=1e-5)
    ffn = trace.activations["encoder.1.ffn.out"]
    assert not np.isfinite(ffn[:, 0]).any() and np.isfinite(ffn[:, 1:]).all()  # w2[0, 0] = inf
    position = trace.target_tokens.index("chat")
    decoder = trace.attention["decoder"][0]  # [heads, q, k]: before cross-attention reads the encoder
    assert np.isnan(decoder[:, position:]).all()  # every query that sees "chat" gets NaN
    np.testing.assert_allclose(decoder[:, :position].sum(axis=-1), 1.0, atol=1e-5)
    assert np.isnan(trace.logits).all()  # every position reads the poisoned encoder output
