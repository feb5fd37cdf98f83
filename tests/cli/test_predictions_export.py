"""``python main.py export --view predictions``: the engine's top-k, headlessly, as NPZ, CSV and SVG."""

import csv

import numpy as np
import pytest

import engine
from engine.inspectable_model import DECODER_ONLY_CONTINUATION
from engine.predictions import top_predictions
from engine.readable_tokens import readable_token
from main import main
from tests.conftest import make_tiny_model
from tests.export_checks import svg_texts
from tests.single_stack_models import endless_decoder, mlm_model
from visualizer.export import export_command

PROMPT, TEXT = "the small cat", "the cat [MASK] a dog ."


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("single-stack")
    paths = {"decoder": folder / "decoder.safetensors", "mlm": folder / "mlm.safetensors",
             "headless": folder / "headless.safetensors"}
    endless_decoder().save(paths["decoder"])
    mlm_model().save(paths["mlm"])
    make_tiny_model("encoder-only", output_head=False).save(paths["headless"])
    return paths


def export(checkpoint, source, *args) -> int:
    return main(["export", "--view", "predictions", "--checkpoint", str(checkpoint), "--source", source,
                 *map(str, args)])


def test_npz_holds_the_engines_top_k_at_every_position(checkpoints, tmp_path):
    out = tmp_path / "next.npz"
    assert export(checkpoints["decoder"], PROMPT, "--top-k", 4, "--max-new-tokens", 3, "--out", out) == 0
    model = engine.load(checkpoints["decoder"])
    trace = model.run(PROMPT, max_new_tokens=3)
    prompt = len(model.tokenizer.encode(PROMPT).ids)
    assert len(trace.target_tokens) == prompt + 3  # the budget reached the run: 3 new tokens
    expected = top_predictions(trace.logits, model.tokenizer.id_to_token, 4)
    with np.load(out, allow_pickle=False) as data:
        assert {"top_ids", "top_tokens", "top_probs", "positions"} <= set(data.files)
        assert data["top_ids"].dtype == np.int64 and data["top_probs"].dtype == np.float32
        np.testing.assert_array_equal(data["top_ids"], expected.top_ids)
        np.testing.assert_array_equal(data["top_probs"], expected.top_probs)
        np.testing.assert_array_equal(data["matrix"], expected.top_probs)
        np.testing.assert_array_equal(data["positions"], np.arange(prompt + 3))
        assert data["top_tokens"].tolist() == expected.top_tokens.tolist()  # the tokenizer's pieces
        assert data["position_tokens"].tolist() == trace.target_tokens
        assert int(data["k"]) == 4 and str(data["predicts"]) == "the next token"


def test_csv_rows_are_positions_and_columns_ranks(checkpoints, tmp_path):
    out = tmp_path / "next.csv"
    assert export(checkpoints["decoder"], PROMPT, "--top-k", 3, "--max-new-tokens", 0, "--out", out) == 0
    model = engine.load(checkpoints["decoder"])
    trace = model.run(PROMPT, max_new_tokens=0)
    expected = top_predictions(trace.logits, model.tokenizer.id_to_token, 3)
    with open(out, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["position \\ rank", "top 1", "top 2", "top 3"]
    assert [row[0] for row in rows[1:]] == [f"{i}: {readable_token(t, trace.token_style)}"
                                            for i, t in enumerate(trace.target_tokens)]
    assert [row[0] for row in rows[1:]][:2] == ["0: <s>", "1: the"]
    values = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float32)
    np.testing.assert_array_equal(values, expected.top_probs)


def test_the_mlm_figure_lists_the_mask_positions_predictions(checkpoints, tmp_path):
    out = tmp_path / "mask.svg"
    assert export(checkpoints["mlm"], TEXT, "--top-k", 3, "--out", out) == 0
    model = engine.load(checkpoints["mlm"])
    trace = model.run(TEXT)
    mask = trace.source_tokens.index("[MASK]")
    expected = top_predictions(trace.logits, model.tokenizer.id_to_token, 3, positions=[mask])
    texts = svg_texts(out)
    assert any(t.endswith("top 3 predictions at the masked positions") for t in texts)
    assert f"{mask}: [MASK]" in texts and "0: the" not in texts  # the mask row only
    for token, probability in zip(expected.top_tokens[0], expected.top_probs[0], strict=True):
        assert f"{token} {probability * 100:.1f}%" in texts


def test_a_model_without_an_output_head_has_no_predictions(checkpoints, tmp_path, capsys):
    out = tmp_path / "none.npz"
    assert export(checkpoints["headless"], TEXT, "--out", out) == 2
    assert "no output head" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("flag, value, message", [("--top-k", "0", "'0' is not a positive whole number"),
                                                  ("--max-new-tokens", "-1", "'-1' is not a whole number")])
def test_bad_counts_are_refused_by_name(checkpoints, tmp_path, capsys, flag, value, message):
    assert export(checkpoints["decoder"], PROMPT, flag, value, "--out", tmp_path / "x.npz") == 2
    assert message in capsys.readouterr().err


def test_the_help_states_the_engines_default_continuation():
    text = " ".join(export_command.build_parser().format_help().split())
    assert f"(default {DECODER_ONLY_CONTINUATION}; 0: the prompt alone)" in text
