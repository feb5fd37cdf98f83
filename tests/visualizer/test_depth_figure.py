"""The depth figure: File → Export plot of the depth pane draws what a reader of the pane sees,
and the attention figures key their grey masked cells."""

import re

import numpy as np
import pytest
from PySide6.QtCore import QRectF, QSizeF
from PySide6.QtGui import QColor, QImage

from tests.conftest import make_tiny_model
from tests.export_checks import pixel_rgb, svg_texts
from visualizer.figures import DepthFigure, GridFigure, HeatmapFigure, export_figure, figure_size
from visualizer.figures.colors import MASKED_COLOR
from visualizer.state.depth_series import depth_series
from visualizer.state.line_selection import PALETTE
from visualizer.state.selection import attention_selection, layer_masks
from visualizer.state.view_state import ViewState

DPI = 150
SOURCE = "the small cat sees the red house"
DECADE = re.compile(r"^10[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+$")


@pytest.fixture
def depth_window(traced_window):
    traced_window.show_pane("depth")
    return traced_window


def _state(model, trace, **options) -> ViewState:
    state = ViewState()
    state.set_model(model)
    state.set_trace(trace)
    state.set_option(**options)
    return state


@pytest.fixture(scope="module")
def model():
    return make_tiny_model()


def test_the_depth_pane_exports_its_plots_in_every_figure_format(depth_window, tmp_path):
    window = depth_window
    assert window.export_actions.plot_action.isEnabled()
    state = window.state.core
    figure = DepthFigure.of_state(state)
    trace = state.trace
    stack = figure.stack
    tokens = list(trace.tokens("source" if stack == "encoder" else "target"))
    assert figure.title == f"{state.model_name()} — depth: residual stream and norm statistics, {stack} stack"

    png = window.export_front_pane(tmp_path / "depth.png")
    image = QImage(str(png))
    assert (image.width(), image.height()) == figure_size(figure)

    texts = svg_texts(window.export_front_pane(tmp_path / "depth.svg"))
    series = depth_series(trace, stack)
    for labels, _values in series.values():
        assert set(labels) <= set(texts)  # "embed", "L0 attn", "L0 self", "final", …
    assert {"L2 norm", "mean of the norm's input", "std (divisor)", "depth (sublayer)",
            "norm (in run order)"} <= set(texts)
    names = [f"{token} ({position})" for position, token in enumerate(tokens)]
    assert [text for text in texts if re.fullmatch(r".+ \(\d+\)", text)] == names  # one entry each
    assert figure.title in texts

    pdf = window.export_front_pane(tmp_path / "depth.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    assert b"/FontFile" in pdf  # labels drawn as text


def test_each_token_is_drawn_in_its_colour_where_the_layout_puts_its_points(depth_window, tmp_path):
    state = depth_window.state.core
    figure = DepthFigure.of_state(state)
    path = depth_window.export_front_pane(tmp_path / "depth.png")
    image = QImage(str(path))
    layout = figure.layout(QSizeF(image.width() * 72 / DPI, image.height() * 72 / DPI))
    last = len(figure.tokens) - 1  # drawn last, so nothing covers its points
    expected = QColor(PALETTE[last % len(PALETTE)])
    expected = (expected.red(), expected.green(), expected.blue())
    assert figure.colored and len(layout.plots) == 3
    for place in layout.plots:
        values = place.plot.values
        for index in range(values.shape[1]):
            point = place.point(index, values[last, index])
            assert place.rect.contains(point)
            assert pixel_rgb(image, point.x() * DPI / 72, point.y() * DPI / 72) == expected, \
                (place.plot.key, index)
    # A point where nothing is drawn stays white: the colour is not everywhere.
    top = layout.plots[0]
    assert pixel_rgb(image, (top.rect.left() + 2) * DPI / 72, (top.rect.top() + 2) * DPI / 72) == \
        (255, 255, 255)


def test_a_long_input_is_one_crowd_without_a_legend(model, tmp_path):
    trace = model.run(" ".join([SOURCE] * 3), "le chat")
    tokens = trace.source_tokens
    assert len(tokens) > 12
    figure = DepthFigure.of_state(_state(model, trace, depth_stack="encoder"))
    assert not figure.colored and figure.layout(figure.natural_size()).legend is None
    texts = svg_texts(export_figure(figure, tmp_path / "long.svg"))
    assert not [text for text in texts if re.fullmatch(r".+ \(\d+\)", text)]
    assert "token (position)" not in texts
    assert figure.title.endswith(f"encoder stack, {len(tokens)} tokens") and figure.title in texts
    short = DepthFigure.of_state(_state(model, model.run(SOURCE, "le chat"), depth_stack="encoder"))
    assert "token (position)" in svg_texts(export_figure(short, tmp_path / "short.svg"))


def _y_ticks(texts, figure, plot_key):
    """The tick texts of one plot's y axis, as the SVG writes them."""
    plot = next(p for p in figure.plots if p.key == plot_key)
    return [text for _value, text in plot.axis.ticks if text in texts]


def test_log_scale_turns_the_norm_and_std_ticks_into_decades(model, tmp_path):
    trace = model.run(SOURCE, "le chat")
    linear = DepthFigure.of_state(_state(model, trace))
    log = DepthFigure.of_state(_state(model, trace, depth_log_scale=True))
    linear_texts = svg_texts(export_figure(linear, tmp_path / "linear.svg"))
    log_texts = svg_texts(export_figure(log, tmp_path / "log.svg"))
    assert not any(DECADE.match(text) for text in linear_texts)
    for key in ("resid", "std"):
        ticks = _y_ticks(log_texts, log, key)
        assert len(ticks) >= 2 and all(DECADE.match(text) for text in ticks), (key, ticks)
        assert all(not DECADE.match(text) for text in _y_ticks(linear_texts, linear, key))
    assert {"L2 norm, log scale", "std (divisor), log scale", "mean of the norm's input"} <= set(log_texts)
    mean_ticks = _y_ticks(log_texts, log, "mean")  # means can be negative: that axis stays linear
    assert mean_ticks and not any(DECADE.match(text) for text in mean_ticks)
    # Decades span every value: the lowest tick is at or below the smallest norm, the highest above.
    resid = next(p for p in log.plots if p.key == "resid")
    assert 10 ** resid.axis.low <= resid.values.min() and resid.values.max() <= 10 ** resid.axis.high


def test_an_rmsnorm_stack_leaves_the_mean_plot_out(tmp_path):
    model = make_tiny_model(norm_type="rmsnorm", norm_bias=False)
    figure = DepthFigure.of_state(_state(model, model.run("the cat", "le chat")))
    assert [plot.key for plot in figure.plots] == ["resid", "std"]
    texts = svg_texts(export_figure(figure, tmp_path / "rms.svg"))
    assert "Each norm's input: mean per token" not in texts and "mean of the norm's input" not in texts
    assert "Each norm's divisor: std per token" in texts


def test_the_depth_figure_needs_a_trace():
    with pytest.raises(ValueError, match="run a sentence first"):
        DepthFigure.of_state(ViewState())


# ---- the masked-cell key of the attention figures ---------------------------------------------
@pytest.fixture(scope="module")
def attention_state(model):
    state = _state(model, model.run(SOURCE))
    return state


def _selection(state, kind):
    state.set_selection(kind=kind, layer=0, head=0)
    return attention_selection(state)


def test_decoder_self_attention_keys_its_grey_cells_and_cross_attention_does_not(attention_state, tmp_path):
    decoder = HeatmapFigure(_selection(attention_state, "decoder"))
    cross = HeatmapFigure(_selection(attention_state, "cross"))
    assert "masked" in svg_texts(export_figure(decoder, tmp_path / "decoder.svg"))
    assert "masked" not in svg_texts(export_figure(cross, tmp_path / "cross.svg"))
    grid = GridFigure(_selection(attention_state, "decoder"), layer_masks(attention_state, "decoder"))
    cross_grid = GridFigure(_selection(attention_state, "cross"), layer_masks(attention_state, "cross"))
    assert "masked" in svg_texts(export_figure(grid, tmp_path / "grid.svg"))
    assert "masked" not in svg_texts(export_figure(cross_grid, tmp_path / "cross-grid.svg"))


@pytest.mark.parametrize("width, height", [(None, None), (300, 200), (2400, 700), (500, 1600), (160, 120)])
def test_the_masked_key_is_grey_and_inside_the_figure_at_every_size(attention_state, tmp_path, width, height):
    figures = [HeatmapFigure(_selection(attention_state, "decoder")),
               GridFigure(_selection(attention_state, "decoder"), layer_masks(attention_state, "decoder"))]
    for number, figure in enumerate(figures):
        path = export_figure(figure, tmp_path / f"{number}.png", width, height, DPI)
        image = QImage(str(path))
        page = QSizeF(image.width() * 72 / DPI, image.height() * 72 / DPI)
        layout = figure.layout(page)
        key = layout.masked_key
        assert key is not None
        assert QRectF(0, 0, page.width(), page.height()).contains(key), (type(figure).__name__, key)
        assert key.top() > layout.colorbar.bottom()  # under the colour bar, not over it
        swatch_x = key.left() + layout.colorbar.width() / 2
        assert pixel_rgb(image, swatch_x * DPI / 72, key.center().y() * DPI / 72) == MASKED_COLOR


def test_a_mask_that_hides_nothing_gets_no_key(attention_state):
    selection = _selection(attention_state, "decoder")
    from dataclasses import replace

    unmasked = HeatmapFigure(replace(selection, masked=np.zeros_like(selection.masked)))
    assert unmasked.layout(unmasked.natural_size()).masked_key is None
