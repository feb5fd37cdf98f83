"""``python main.py export``: every format's content, the default model, and every user error."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
from main import main
from tests.conftest import make_tiny_model
from tests.export_checks import (
    assert_csv_matches,
    assert_heatmap_png,
    assert_npz_matches,
    assert_pdf,
    selection_of,
    svg_texts,
)
from visualizer.export import export_command
from visualizer.export.data_files import DataTable, export_data
from visualizer.figures import HeatmapFigure

ROOT = Path(__file__).resolve().parents[2]
SOURCE, TARGET = "the big dog sees a cat , and runs .", "le chien voit"


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    return engine.load(tiny_checkpoint)


@pytest.fixture(scope="module")
def trace(model):
    return model.run(SOURCE, TARGET)


def export(checkpoint, *args) -> int:
    return main(["export", "--checkpoint", str(checkpoint), "--source", SOURCE, "--target", TARGET,
                 *map(str, args)])


def test_png_has_the_requested_size_and_the_colours_of_the_trace(tiny_checkpoint, model, trace, tmp_path,
                                                                 capsys):
    out = tmp_path / "cross.png"
    code = export(tiny_checkpoint, "--kind", "cross", "--layer", 1, "--head", "mean", "--colormap", "plasma",
                  "--width", 700, "--height", 500, "--dpi", 100, "--out", out)
    assert code == 0 and f"wrote {out}" in capsys.readouterr().out
    expected = selection_of(model, trace, "cross", 1, "mean", colormap="plasma")
    np.testing.assert_allclose(expected.matrix, trace.attention["cross"][1].mean(axis=0), rtol=1e-6)
    assert_heatmap_png(out, HeatmapFigure(expected), 700, 500, 100)


def test_svg_parses_and_holds_every_token_label_as_text(tiny_checkpoint, trace, tmp_path):
    out = tmp_path / "encoder.svg"
    assert export(tiny_checkpoint, "--kind", "encoder", "--layer", 0, "--head", 1, "--out", out) == 0
    texts = svg_texts(out)
    assert set(trace.source_tokens) <= set(texts)
    assert "," in texts  # a token that is punctuation survives as text too
    assert any("Encoder self-attention, layer 0, head 1" in t for t in texts)


def test_pdf_is_a_valid_single_page(tiny_checkpoint, tmp_path):
    out = tmp_path / "decoder.pdf"
    assert export(tiny_checkpoint, "--kind", "decoder", "--layer", 1, "--head", "max", "--out", out) == 0
    assert_pdf(out, title="tiny encoder-decoder — Decoder self-attention, layer 1, max of heads")


def test_npz_and_csv_hold_the_numbers_and_tokens_of_the_trace(tiny_checkpoint, trace, tmp_path):
    npz, table = tmp_path / "cross.npz", tmp_path / "cross.csv"
    assert export(tiny_checkpoint, "--kind", "cross", "--layer", 0, "--head", 3, "--out", npz) == 0
    assert export(tiny_checkpoint, "--kind", "cross", "--layer", 0, "--head", 3, "--out", table) == 0
    matrix = trace.attention["cross"][0, 3]
    assert_npz_matches(npz, matrix, trace.target_tokens, trace.source_tokens, model="tiny encoder-decoder",
                       kind="cross", layer=0, head="3", source=SOURCE, target=TARGET)
    with np.load(npz) as data:
        assert "all_heads" not in data  # only on request: it can be hundreds of megabytes
    everything = tmp_path / "every-head.npz"
    assert export(tiny_checkpoint, "--kind", "cross", "--all-heads", "--out", everything) == 0
    with np.load(everything) as data:
        np.testing.assert_array_equal(data["all_heads"], trace.attention["cross"])
    assert_csv_matches(table, matrix, trace.target_tokens, trace.source_tokens)


def test_ablated_heads_are_exported_as_the_ablated_model_computes_them(tiny_checkpoint, tmp_path):
    out = tmp_path / "ablated.npz"
    assert export(tiny_checkpoint, "--kind", "cross", "--layer", 1, "--head", 0,
                  "--ablate", "encoder:0:1", "--ablate", "cross:0:2", "--out", out) == 0
    ablated = engine.load(tiny_checkpoint).run(SOURCE, TARGET, ablate=[("encoder", 0, 1), ("cross", 0, 2)])
    plain = engine.load(tiny_checkpoint).run(SOURCE, TARGET)
    with np.load(out) as data:
        np.testing.assert_array_equal(data["matrix"], ablated.attention["cross"][1, 0])
        assert not np.allclose(data["matrix"], plain.attention["cross"][1, 0])


def test_csv_quotes_tokens_with_commas_quotes_and_newlines(tmp_path):
    tokens = ["a,b", 'say "hi"', "two\nlines", "=1+2"]
    matrix = np.arange(16, dtype=np.float32).reshape(4, 4) / 7
    path = export_data(DataTable(matrix, tokens, tokens[::-1]), tmp_path / "odd.csv")
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert len(rows) == 5 and all(len(row) == 5 for row in rows)
    assert_csv_matches(path, matrix, tokens, tokens[::-1])


def test_without_checkpoint_and_target_it_uses_the_default_model_and_decodes(
        tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(export_command, "DEFAULT_CHECKPOINT", tiny_checkpoint)
    out = tmp_path / "decoded.npz"
    assert main(["export", "--source", SOURCE, "--layer", "1", "--out", str(out)]) == 0
    decoded = engine.load(tiny_checkpoint).run(SOURCE)
    assert_npz_matches(out, decoded.attention["cross"][1, 0], decoded.target_tokens, decoded.source_tokens,
                       kind="cross", head="0", target=decoded.output_text)


def test_display_options_match_the_app(tiny_checkpoint, model, trace, tmp_path):
    """--rows-by-prediction labels decoder rows by the predicted token; --auto-levels puts the
    data range on the colour bar; --colormap picks the colours (checked on the PNG's cells)."""
    npz, svg, png = tmp_path / "d.npz", tmp_path / "d.svg", tmp_path / "d.png"
    options = ["--kind", "cross", "--layer", 1, "--head", 2, "--rows-by-prediction", "--auto-levels",
               "--colormap", "cividis"]
    for out in (npz, svg, png):
        assert export(tiny_checkpoint, *options, "--out", out, "--width", 600, "--dpi", 100) == 0
    matrix = trace.attention["cross"][1, 2]
    assert matrix.max() < 0.99  # so auto levels differ from 0..1
    assert_npz_matches(npz, matrix, trace.predicted_tokens, trace.source_tokens, kind="cross")
    texts = svg_texts(svg)
    assert f"{matrix.max():.3g}" in texts and "1" not in texts  # ticks follow the data, not 0..1
    assert "queries (predicted next tokens)" in texts
    expected = selection_of(model, trace, "cross", 1, 2, colormap="cividis", label_rows_by_prediction=True,
                            auto_levels=True)
    figure = HeatmapFigure(expected)
    from visualizer.figures import figure_size

    width, height = figure_size(figure, 600, None, 100)
    assert_heatmap_png(png, figure, width, height, 100)


def test_all_heads_grid_names_every_layer_and_head(tiny_checkpoint, tmp_path):
    out = tmp_path / "grid.svg"
    assert export(tiny_checkpoint, "--kind", "encoder", "--all-heads", "--out", out) == 0
    texts = svg_texts(out)
    assert {"layer 0", "layer 1", "head 0", "head 3"} <= set(texts)


def test_lines_figure_draws_one_line_per_strong_weight(tiny_checkpoint, trace, tmp_path):
    import xml.etree.ElementTree as ET

    out = tmp_path / "lines.svg"
    assert export(tiny_checkpoint, "--kind", "cross", "--layer", 0, "--head", 1, "--lines", "--out", out) == 0
    opacities = sorted(float(group.get("stroke-opacity", 1)) for group in ET.parse(out).getroot().iter()
                       for child in group if child.tag.endswith("polyline"))
    matrix = trace.attention["cross"][0, 1]
    strong = np.sort(matrix[matrix >= 0.02])  # the view's MIN_WEIGHT: fainter lines are invisible
    assert len(opacities) == len(strong) > 0
    np.testing.assert_allclose(opacities, strong, atol=1 / 255 + 1e-6)
    assert set(trace.source_tokens) | set(trace.target_tokens) <= set(svg_texts(out))


@pytest.fixture(scope="module")
def encoder_only_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "encoder-only.safetensors"
    make_tiny_model("encoder-only").save(path)
    return path


@pytest.mark.parametrize("args, problem", [
    (["--kind", "sideways"], "invalid choice: 'sideways'"),
    (["--layer", "7"], "layer 7 is out of range: cross has layers 0..1"),
    (["--layer", "-1"], "layer -1 is out of range"),
    (["--head", "4"], "head 4 is out of range"),
    (["--head", "median"], "head must be a number, 'mean' or 'max', not 'median'"),
    (["--out", "{tmp}/plot.gif"], "{tmp}/plot.gif: unknown format '.gif'"),
    (["--out", "{tmp}/missing/plot.png"], "cannot write {tmp}/missing/plot.png: the folder"),
    (["--out", "{tmp}/taken.png"], "cannot write {tmp}/taken.png: it is a folder"),
    (["--checkpoint", "{tmp}/nothing.safetensors"], "checkpoint {tmp}/nothing.safetensors not found"),
    (["--checkpoint", "{tmp}/notes.txt"], "cannot open checkpoint {tmp}/notes.txt"),
    (["--width", "5"], "width must be between 16 and"),
    (["--all-heads", "--out", "{tmp}/grid.csv"], "a CSV file holds one matrix: save all heads as .npz"),
    (["--view", "depth", "--out", "{tmp}/depth.png", "--dpi", "0"], "dpi must be positive, not 0.0"),
    (["--view", "activations", "--hook", "encoder.9.resid_post", "--out", "{tmp}/a.npz"],
     "hook 'encoder.9.resid_post' is not in this trace"),
    (["--ablate", "cross-0-2"], "'cross-0-2' is not KIND:LAYER:HEAD"),
    (["--ablate", "cross:5:0"], "ablate item ('cross', 5, 0): layer must be in 0..1"),
])
def test_user_errors_exit_2_naming_the_problem(tiny_checkpoint, tmp_path, capsys, args, problem):
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "taken.png").mkdir()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    defaults = {"--checkpoint": str(tiny_checkpoint), "--out": str(tmp_path / "plot.png"), "--kind": "cross"}
    for name, value in defaults.items():
        if name not in args:
            args += [name, value]
    assert main(["export", "--source", SOURCE, *args]) == 2
    assert problem.replace("{tmp}", str(tmp_path)) in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "taken.png"]  # nothing written


def test_a_kind_the_model_lacks_and_a_missing_default_model_are_named(
        encoder_only_checkpoint, tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "x.png")
    assert main(["export", "--checkpoint", str(encoder_only_checkpoint), "--source", "the cat",
                 "--kind", "cross", "--out", out]) == 2
    assert "kind 'cross' is not in tiny encoder-only; it has encoder" in capsys.readouterr().err
    monkeypatch.setattr(export_command, "DEFAULT_CHECKPOINT", tmp_path / "translator.safetensors")
    assert main(["export", "--source", "the cat", "--out", out]) == 2
    assert "the default model; pass --checkpoint PATH" in capsys.readouterr().err


def test_the_command_runs_headless_in_a_fresh_process(tiny_checkpoint, tmp_path):
    """No display and no Qt platform set: the command starts its own offscreen QGuiApplication."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = tmp_path / "fresh.pdf"
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "export", "--checkpoint", str(tiny_checkpoint),
         "--source", SOURCE, "--kind", "cross", "--layer", "1", "--head", "0", "--out", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert_pdf(out)
