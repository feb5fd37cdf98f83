"""What a user reads off a heatmap must be true: rows sum to 1, masked entries are exactly 0."""

import numpy as np
import pytest
import torch

from engine.hooks import interventions
from tests.conftest import make_tiny_model

SENTENCE = "the small cat sees a big red dog and the dog runs"


@pytest.mark.parametrize("architecture", ["encoder-decoder", "encoder-only", "decoder-only"])
def test_every_attention_row_sums_to_one(architecture):
    trace = make_tiny_model(architecture).run(SENTENCE)
    assert trace.attention, "no attention recorded"
    for kind, stack in trace.attention.items():
        np.testing.assert_allclose(stack.sum(axis=-1), 1.0, atol=1e-5, err_msg=kind)


def test_decoder_upper_triangle_is_exactly_zero():
    trace = make_tiny_model().run(SENTENCE)
    decoder = trace.attention["decoder"]
    length = decoder.shape[-1]
    above = np.triu(np.ones((length, length), dtype=bool), k=1)
    assert length > 5
    assert np.all(decoder[..., above] == 0.0)
    assert np.all(decoder[..., ~above] > 0.0)


def test_shapes_put_queries_in_rows_and_keys_in_columns():
    trace = make_tiny_model().run(SENTENCE, "le petit chat voit le chien")
    S, T = len(trace.source_tokens), len(trace.target_tokens)
    assert S != T
    assert trace.attention["encoder"].shape == (2, 4, S, S)
    assert trace.attention["decoder"].shape == (2, 4, T, T)
    assert trace.attention["cross"].shape == (2, 4, T, S)
    assert trace.query_tokens("cross") == trace.target_tokens
    assert trace.key_tokens("cross") == trace.source_tokens


def test_padding_columns_are_exactly_zero_in_a_batch():
    model = make_tiny_model()
    tok = model.tokenizer
    long_ids = tok.encode("the cat sees a dog and the dog runs").ids
    short_ids = tok.encode("a cat").ids
    pad = model.config.pad_token_id
    source = torch.tensor([long_ids, short_ids + [pad] * (len(long_ids) - len(short_ids))])
    target = torch.tensor([[2, 5, 6, 7], [2, 5, 6, 7]])
    with interventions(model.module, record=True) as hooks, torch.inference_mode():
        model.module(source, target)
    n_real = len(short_ids)
    for name in ("encoder.0.self_attn.pattern", "encoder.1.self_attn.pattern",
                 "decoder.0.cross_attn.pattern", "decoder.1.cross_attn.pattern"):
        pattern = hooks.values[name]
        assert torch.all(pattern[1, :, :, n_real:] == 0.0), name
        assert torch.all(pattern[0] > 0.0), name  # the unpadded row sees every key
        torch.testing.assert_close(pattern.sum(-1)[1, :, :n_real],
                                   torch.ones_like(pattern.sum(-1)[1, :, :n_real]))


@pytest.mark.parametrize("window", [1, 2, 3])
def test_local_window_is_respected(window):
    model = make_tiny_model(attention_window=window)
    trace = model.run(SENTENCE, "le petit chat voit le grand chien rouge")
    enc = trace.attention["encoder"]
    S = enc.shape[-1]
    offset = np.arange(S)[:, None] - np.arange(S)[None, :]
    assert np.all(enc[..., np.abs(offset) > window] == 0.0)
    assert np.all(enc[..., np.abs(offset) <= window] > 0.0)
    dec = trace.attention["decoder"]
    T = dec.shape[-1]
    offset = np.arange(T)[:, None] - np.arange(T)[None, :]
    visible = (offset >= 0) & (offset < window)
    assert np.all(dec[..., ~visible] == 0.0)
    assert np.all(dec[..., visible] > 0.0)
    # Cross-attention is never windowed: every source word stays visible.
    assert np.all(trace.attention["cross"] > 0.0)
