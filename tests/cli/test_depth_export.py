"""``python main.py export --view depth``: the depth pane's figure, headlessly, in every format."""

import re

import pytest
from PySide6.QtGui import QImage

import engine
from main import main
from tests.export_checks import svg_texts
from visualizer.figures import DepthFigure, figure_size
from visualizer.state.depth_series import depth_series

SOURCE, TARGET = "the big dog sees a cat .", "le chien voit"


@pytest.fixture(scope="module")
def trace(tiny_checkpoint):
    return engine.load(tiny_checkpoint).run(SOURCE, TARGET)


def export(checkpoint, *args) -> int:
    return main(["export", "--checkpoint", str(checkpoint), "--source", SOURCE, "--target", TARGET,
                 "--view", "depth", *map(str, args)])


@pytest.mark.parametrize("stack, side", [("encoder", "source"), ("decoder", "target")])
def test_the_svg_names_every_depth_point_axis_and_token_of_the_stack(tiny_checkpoint, trace, tmp_path,
                                                                    stack, side):
    out = tmp_path / f"{stack}.svg"
    assert export(tiny_checkpoint, "--stack", stack, "--out", out) == 0
    texts = svg_texts(out)
    assert any(text.endswith(f"depth: residual stream and norm statistics, {stack} stack") for text in texts)
    for labels, _values in depth_series(trace, stack).values():
        assert set(labels) <= set(texts)
    assert {"L2 norm", "std (divisor)", "depth (sublayer)"} <= set(texts)
    tokens = trace.tokens(side)
    legend = [text for text in texts if re.fullmatch(r".+ \(\d+\)", text)]
    assert legend == [f"{token} ({position})" for position, token in enumerate(tokens)]


def test_the_stack_follows_the_kind_when_none_is_given(tiny_checkpoint, tmp_path):
    out = tmp_path / "encoder.svg"
    assert export(tiny_checkpoint, "--kind", "encoder", "--out", out) == 0
    assert any(text.endswith("encoder stack") for text in svg_texts(out))


def test_png_and_pdf_are_written_at_the_figures_size(tiny_checkpoint, trace, tmp_path):
    png, pdf = tmp_path / "depth.png", tmp_path / "depth.pdf"
    assert export(tiny_checkpoint, "--stack", "decoder", "--out", png, "--dpi", 100) == 0
    assert export(tiny_checkpoint, "--stack", "decoder", "--out", pdf) == 0
    figure = DepthFigure(depth_series(trace, "decoder"), trace.target_tokens, "decoder", trace.model_name)
    image = QImage(str(png))
    assert (image.width(), image.height()) == figure_size(figure, dpi=100)
    assert abs(image.dotsPerMeterX() * 0.0254 - 100) < 1
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 1
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", data)
    natural = figure.natural_size()
    assert abs(float(box[1]) - natural.width()) <= 1 and abs(float(box[2]) - natural.height()) <= 1

