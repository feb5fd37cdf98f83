"""run(): decoding, given targets, ablation, and clear errors for bad input."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import engine
from engine import InputError
from tests.conftest import make_tiny_model

SENTENCE = "the dog sees a small cat"


def force_token(model, token: str, strength: float = 1e4):
    """Make ``token`` the argmax everywhere through a huge output bias."""
    model.module.final_logits_bias = torch.nn.Parameter(torch.zeros(model.config.vocab_size))
    with torch.no_grad():
        model.module.final_logits_bias[model.tokenizer.token_to_id(token)] = strength
    return model


def test_greedy_decode_trace_is_self_consistent():
    trace = make_tiny_model().run(SENTENCE)
    assert trace.target_tokens[0] == "<s>"
    assert len(trace.target_tokens) >= 2
    for i in range(len(trace.target_tokens) - 1):
        assert trace.predicted_tokens[i] == trace.target_tokens[i + 1]
    assert trace.decode_ms > 0 and trace.forward_ms > 0


def test_decoding_stops_at_end_token_and_includes_it():
    trace = force_token(make_tiny_model(), "</s>").run(SENTENCE)
    assert trace.target_tokens == ["<s>", "</s>"]
    assert trace.output_text == ""


def test_decoding_respects_max_length():
    model = force_token(make_tiny_model(), "chat")
    assert model.run(SENTENCE).target_tokens == ["<s>"] + ["chat"] * 12  # config max_decode_length
    trace = model.run(SENTENCE, max_new_tokens=3)
    assert trace.target_tokens == ["<s>", "chat", "chat", "chat"]
    assert trace.output_text == "chat chat chat"


def test_given_target_follows_the_start_token():
    trace = make_tiny_model().run(SENTENCE, "le chien voit un zèbre")
    assert trace.target_tokens == ["<s>", "le", "chien", "voit", "<unk>", "<unk>", "</s>"]
    assert trace.output_text == ""


def test_unknown_words_map_to_unk_and_never_crash():
    trace = make_tiny_model().run("the xylophone sees Ω ☃ 42")
    assert trace.source_tokens == ["the", "<unk>", "sees", "<unk>", "<unk>", "<unk>", "</s>"]


def test_decoder_only_continues_the_prompt():
    model = make_tiny_model("decoder-only")
    trace = model.run("the cat sees", max_new_tokens=5)
    assert trace.source_tokens == []
    assert trace.target_tokens[:4] == ["<s>", "the", "cat", "sees"]
    assert 4 < len(trace.target_tokens) <= 9
    assert trace.attention["decoder"].shape[-1] == len(trace.target_tokens)


def test_encoder_only_records_the_input_and_takes_no_target():
    model = make_tiny_model("encoder-only")
    trace = model.run("the cat sees")
    assert trace.target_tokens == [] and trace.source_tokens[-1] == "</s>"
    assert trace.logits.shape[0] == len(trace.source_tokens)
    with pytest.raises(InputError, match="encoder-only"):
        model.run("the cat", "le chat")


@pytest.mark.parametrize("bad", ["", "   ", None, 42])
def test_bad_source_is_an_input_error(bad):
    with pytest.raises(InputError):
        make_tiny_model().run(bad)


def test_too_long_input_for_learned_positions():
    model = make_tiny_model(positions="learned", max_positions=8)
    with pytest.raises(InputError, match="8"):
        model.run("the cat " * 10)


def test_ablation_zeroes_z_and_keeps_the_pattern():
    model = make_tiny_model()
    target = "le petit chat voit le chien"
    plain = model.run(SENTENCE, target)
    ablated = model.run(SENTENCE, target, ablate=[("cross", 1, 2)])
    z = ablated.activations["decoder.1.cross_attn.z"]
    assert np.all(z[2] == 0.0) and np.any(z[1] != 0.0)
    # The ablated head's own scores and pattern are unchanged: it looked, its output was cut.
    for part in ("scores", "q", "k"):
        np.testing.assert_array_equal(ablated.activations[f"decoder.1.cross_attn.{part}"],
                                      plain.activations[f"decoder.1.cross_attn.{part}"])
    np.testing.assert_array_equal(ablated.attention["cross"][1], plain.attention["cross"][1])
    assert not np.array_equal(ablated.activations["decoder.1.cross_attn.out"],
                              plain.activations["decoder.1.cross_attn.out"])
    assert not np.array_equal(ablated.logits, plain.logits)
    assert ablated.ablated == (("cross", 1, 2),)
    both = model.run(SENTENCE, target, ablate=[("encoder", 0, 0), ("cross", 1, 2)])
    assert np.all(both.activations["encoder.0.self_attn.z"][0] == 0.0)
    assert both.ablated == (("cross", 1, 2), ("encoder", 0, 0))


def test_ablated_model_is_the_one_that_decodes():
    model = make_tiny_model(seed=5)
    heads = [(kind, layer, head) for kind in ("encoder", "decoder", "cross")
             for layer in range(2) for head in range(4)]
    trace = model.run(SENTENCE, ablate=heads)
    # With every head cut, the teacher-forced pass over the decoded text must agree with it.
    assert trace.predicted_tokens[:-1] == trace.target_tokens[1:]
    assert all(np.all(trace.activations[f"decoder.{i}.cross_attn.z"] == 0) for i in range(2))


@pytest.mark.parametrize("item", [("cross", 2, 0), ("cross", 0, 4), ("sideways", 0, 0), ("cross", 0),
                                  "cross"])
def test_invalid_ablation_is_an_input_error(item):
    with pytest.raises(InputError, match="ablate"):
        make_tiny_model().run(SENTENCE, ablate=[item])


def test_batched_greedy_matches_single_sentence_decoding():
    from engine.decoding import greedy_decode

    model = make_tiny_model(seed=7)
    sentences = ["the dog sees a small cat", "a cat runs", "the red house sleeps and the dog runs"]
    encoded = [model.tokenizer.encode(s).ids for s in sentences]
    width = max(map(len, encoded))
    source = torch.tensor([ids + [0] * (width - len(ids)) for ids in encoded])
    batched = greedy_decode(model.module, source, torch.full((3, 1), 2), 12, 3)
    for sentence, row in zip(sentences, batched, strict=True):
        assert model.run(sentence).target_ids[1:] == row


def test_importing_engine_loads_no_qt():
    code = ("import sys, engine; from tests.conftest import make_tiny_model; "
            "make_tiny_model().run('the cat'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_config_json_round_trip_and_validation():
    config = engine.ModelConfig(architecture="decoder-only", d_model=64, n_heads=4,
                                activation="gelu_tanh", gated_ffn=True, norm_type="rmsnorm",
                                attention_window=16, extra={"family": "test"})
    assert engine.ModelConfig.from_json(config.to_json()) == config
    default = engine.ModelConfig()
    assert (default.d_model, default.n_heads, default.n_encoder_layers, default.d_ff) == (512, 8, 6, 2048)
    assert (default.norm_placement, default.activation, default.positions) == ("post", "relu", "sinusoidal")
    with pytest.raises(ValueError, match="activation"):
        engine.ModelConfig(activation="tanh")
    with pytest.raises(ValueError, match="divisible"):
        engine.ModelConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="unknown ModelConfig fields"):
        engine.ModelConfig.from_dict({"d_model": 8, "colour": "red"})


def test_sinusoidal_table_follows_the_paper():
    from engine.positions import sinusoidal_table

    table = sinusoidal_table(50, 16)
    pos, i = 7, 3
    angle = pos / 10000 ** (2 * i / 16)
    assert table[pos, 2 * i] == pytest.approx(np.sin(angle), abs=1e-6)
    assert table[pos, 2 * i + 1] == pytest.approx(np.cos(angle), abs=1e-6)
    split = sinusoidal_table(50, 16, "split")
    assert split[pos, i] == pytest.approx(np.sin(angle), abs=1e-6)
    assert split[pos, 8 + i] == pytest.approx(np.cos(angle), abs=1e-6)


def test_a_decoder_only_continuation_reads_as_the_whole_sentence_would():
    from tokenizers import processors

    from tests.byte_level import byte_level_tokenizer

    tokenizer = byte_level_tokenizer()
    tokenizer.backend.post_processor = processors.TemplateProcessing(single="$A")  # GPT-2: no specials
    config = engine.ModelConfig(architecture="decoder-only", vocab_size=tokenizer.vocab_size,
                                d_model=32, n_heads=4, n_decoder_layers=2, d_ff=64, dropout=0.0)
    model = engine.create(config, tokenizer, "tiny byte-level LM")
    whole = tokenizer.encode("the cat sees the café").ids
    trace = model.run("the cat", "sees the café")
    assert trace.target_ids == whole  # "Ġsees", as in the whole sentence, not "sees"
    assert "".join(trace.readable_tokens("target")) == "the·cat·sees·the·café"
