"""``python main.py export --view compare``: run A, run B and B − A, equal to two runs of the public API."""

from pathlib import Path

import numpy as np
import pytest

import engine
from engine.compare import compare_traces
from main import main
from tests.conftest import make_tiny_model
from tests.export_checks import assert_compare_png, assert_csv_matches, assert_pdf, svg_texts
from visualizer.export.export_command import build_parser, build_state
from visualizer.export.second_run import attach_second_run
from visualizer.figures.colors import LUT_SIZE, colors_of, lookup_table
from visualizer.figures.compare_figure import CompareFigure
from visualizer.state.comparison import DIFFERENCE_COLORMAP, comparison, difference_levels

TRANSLATOR = Path(__file__).resolve().parents[2] / "assets" / "models" / "translator.safetensors"
SOURCE, SOURCE_B, TARGET = "the small cat sees a dog", "the big dog sees a cat", "le petit chat voit"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two tiny models of one architecture (seeds 0 and 1) and one of another (d_model 16)."""
    folder = tmp_path_factory.mktemp("compare")
    paths = {name: folder / f"{name}.safetensors" for name in ("a", "b", "other")}
    make_tiny_model(seed=0).save(paths["a"])
    make_tiny_model(seed=1).save(paths["b"])
    make_tiny_model(d_model=16).save(paths["other"])
    return paths


def export(checkpoints, out, *args) -> int:
    return main(["export", "--view", "compare", "--checkpoint", str(checkpoints["a"]), "--source", SOURCE,
                 *map(str, args), "--out", str(out)])


def test_npz_equals_two_runs_through_the_public_api(checkpoints, tmp_path):
    out = tmp_path / "compare.npz"
    assert export(checkpoints, out, "--checkpoint2", checkpoints["b"], "--source2", SOURCE_B,
                  "--target", TARGET, "--kind", "cross", "--layer", 1, "--head", "mean") == 0
    trace_a = engine.load(checkpoints["a"]).run(SOURCE, TARGET)
    trace_b = engine.load(checkpoints["b"]).run(SOURCE_B, TARGET)
    a, b = trace_a.matrix("cross", 1, "mean"), trace_b.matrix("cross", 1, "mean")
    with np.load(out, allow_pickle=False) as data:
        np.testing.assert_allclose(data["matrix_a"], a, atol=1e-7)
        np.testing.assert_allclose(data["matrix_b"], b, atol=1e-7)
        np.testing.assert_array_equal(data["difference"], data["matrix_b"] - data["matrix_a"])
        np.testing.assert_array_equal(data["matrix"], data["difference"])
        assert np.abs(data["difference"]).max() > 1e-3  # two seeds really differ
        assert data["key_tokens"].tolist() == trace_a.source_tokens
        assert data["key_tokens_b"].tolist() == trace_b.source_tokens
        assert str(data["source_b"]) == SOURCE_B and str(data["head"]) == "mean"


def test_without_a_target_run_b_uses_the_target_run_a_decoded(checkpoints, tmp_path, capsys):
    out = tmp_path / "compare.npz"
    # The tiny random model never writes an end token: its decode stops at the length limit, and
    # that text would read back a token longer. Said so, rather than compared a row off:
    assert export(checkpoints, out, "--source2", SOURCE_B) == 2
    assert "does not read back as the same tokens" in capsys.readouterr().err
    # The translator ends its sentences: run b reads run a's French.
    assert main(["export", "--view", "compare", "--checkpoint", str(TRANSLATOR), "--source",
                 "the small cat sleeps", "--source2", "the big dog runs", "--kind", "cross",
                 "--head", "mean", "--out", str(out)]) == 0
    model = engine.load(TRANSLATOR)
    trace_a = model.run("the small cat sleeps")
    trace_b = model.run("the big dog runs", trace_a.output_text)
    assert trace_b.target_tokens == trace_a.target_tokens == ["<s>", "le", "petit", "chat", "dort", "</s>"]
    expected = compare_traces(trace_a, trace_b, "cross", 0, "mean")
    with np.load(out, allow_pickle=False) as data:
        for name in ("matrix_a", "matrix_b", "difference"):
            np.testing.assert_allclose(data[name], expected[name], atol=1e-7)
        assert data["query_tokens_b"].tolist() == trace_a.target_tokens
        assert np.abs(data["difference"]).max() > 1e-3  # another source moves the cross-attention


def test_unequal_shapes_name_both_shapes_and_tokenizations(checkpoints, tmp_path, capsys):
    out = tmp_path / "compare.npz"
    assert export(checkpoints, out, "--source2", "the dog runs", "--target", TARGET, "--kind", "encoder") == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert "run a gives encoder 7×7, run b 4×4" in error
    assert "the small cat sees a dog" in error and "the dog runs" in error
    assert not out.exists()


def test_another_architecture_is_refused_by_name(checkpoints, tmp_path, capsys):
    assert export(checkpoints, tmp_path / "c.npz", "--checkpoint2", checkpoints["other"]) == 2
    error = capsys.readouterr().err
    assert "is not the architecture of" in error and "d_model 32 vs 16" in error


def test_compare_needs_a_second_input_or_checkpoint(checkpoints, tmp_path, capsys):
    assert export(checkpoints, tmp_path / "c.npz") == 2
    assert "--source2 TEXT and/or --checkpoint2 PATH" in capsys.readouterr().err
    assert main(["export", "--source", SOURCE, "--source2", SOURCE_B, "--out", str(tmp_path / "x.npz")]) == 2
    assert "--source2 and --checkpoint2 are for --view compare" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf", "csv"])
def test_every_format_writes_the_comparison(checkpoints, tmp_path, suffix):
    out = tmp_path / f"compare.{suffix}"
    args = ["--checkpoint2", checkpoints["b"], "--target", TARGET, "--kind", "cross", "--head", 1]
    extra = ["--width", 1500, "--dpi", 100] if suffix == "png" else []
    assert export(checkpoints, out, *args, *extra) == 0

    parsed = build_parser().parse_args(["--view", "compare", "--source", SOURCE, "--target", TARGET,
                                        "--checkpoint2", str(checkpoints["b"]), "--kind", "cross",
                                        "--head", "1", "--out", str(out)])
    model = engine.load(checkpoints["a"])
    state = build_state(model, model.run(SOURCE, TARGET), parsed, "cross")
    attach_second_run(state, model, parsed)
    view = comparison(state)
    if suffix == "png":
        assert_compare_png(out, CompareFigure(view), 1500, dpi=100)
    elif suffix == "svg":
        texts = svg_texts(out)
        assert "B − A" in texts and view.title in texts
        assert set(view.a.key_tokens) <= set(texts)
    elif suffix == "pdf":
        assert_pdf(out, title=view.title)
    else:
        assert_csv_matches(out, view.difference.matrix, view.difference.query_tokens,
                           view.difference.key_tokens)


def test_the_difference_colormap_is_centred_on_zero():
    difference = np.array([[-0.02, 0.0], [0.05, 0.01]], dtype=np.float32)
    low, high = difference_levels(difference)
    assert low == -high == pytest.approx(-0.05)
    table = lookup_table(DIFFERENCE_COLORMAP)
    colours = colors_of(difference, (low, high), DIFFERENCE_COLORMAP)
    assert tuple(colours[0, 1]) == tuple(table[LUT_SIZE // 2])  # 0: the middle entry
    assert min(table[LUT_SIZE // 2]) > 220  # which is near white: "no change"
    assert tuple(colours[1, 0]) == tuple(table[-1])  # +max: the top (red)
    assert table[-1][0] > 150 > table[-1][2] and table[0][2] > 150 > table[0][0]  # red up, blue down
    assert difference_levels(np.zeros((2, 2), np.float32)) == (-1e-6, 1e-6)
