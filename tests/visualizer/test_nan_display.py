"""NaN weights are shown, never hidden: a warning in the model facts, magenta cells in every heatmap
and exported figure (never the colour of 0), "NaN" in the hover readouts, and a key under the
colour bar."""

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSizeF
from PySide6.QtGui import QImage

import engine
from tests.conftest import make_tiny_model
from tests.export_checks import assert_heatmap_png, pixel_rgb, svg_texts
from visualizer.figures import GridFigure, HeatmapFigure, export_figure
from visualizer.figures.colors import MASKED_COLOR, NAN_COLOR, colors_of, lookup_table
from visualizer.state.activation_hooks import DIVERGING_COLORMAP, activation_levels, activation_selection
from visualizer.state.app_state import AppState
from visualizer.state.selection import attention_selection, layer_masks
from visualizer.state.view_state import COLORMAPS
from visualizer.widgets.input_panel import model_facts

SOURCE, TARGET = "the small cat", "le petit chat dort"
NAN_ROW = 3  # <s> le petit chat: every query from "chat" on sees the NaN key
DPI = 100


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory):
    """A tiny model whose "chat" embedding row is NaN, saved and loaded as a user would."""
    model = make_tiny_model()
    model.module.token_embedding.weight.data[model.tokenizer.token_to_id("chat")] = float("nan")
    path = tmp_path_factory.mktemp("nan") / "nan.safetensors"
    model.save(path)
    return engine.load(path)


@pytest.fixture(scope="module")
def trace(poisoned):
    trace = poisoned.run(SOURCE, TARGET)
    assert trace.target_tokens[NAN_ROW] == "chat"
    return trace


def _state(model, trace, **selection):
    state = AppState()
    state.set_model(model)
    state.set_trace(trace)
    state.set_selection(kind="decoder", layer=0, head=0, **selection)
    return state


def test_the_magenta_is_no_colormap_entry_and_not_the_mask_grey():
    tables = [lookup_table(name) for name in (*COLORMAPS, DIVERGING_COLORMAP)]
    every = {tuple(int(v) for v in color) for table in tables for color in table}
    assert NAN_COLOR not in every and NAN_COLOR != MASKED_COLOR


def test_the_facts_warn_and_name_the_tensors(poisoned, tmp_path):
    facts = dict(model_facts(poisoned))
    assert facts["⚠ Weights"] == "1 tensor contains NaN or inf: token_embedding.weight"
    many = make_tiny_model()
    for layer in many.module.encoder.layers:
        layer.ffn.w1.weight.data[0, 0] = float("inf")
        layer.ffn.w2.bias.data[0] = float("nan")
    many.save(tmp_path / "many.safetensors")
    assert dict(model_facts(engine.load(tmp_path / "many.safetensors")))["⚠ Weights"] == (
        "4 tensors contain NaN or inf: encoder.layers.0.ffn.w1.weight, encoder.layers.0.ffn.w2.bias, "
        "encoder.layers.1.ffn.w1.weight, …")
    assert "⚠ Weights" not in dict(model_facts(make_tiny_model()))


def test_the_facts_box_shows_the_warning(qtbot, poisoned):
    from visualizer.widgets.input_panel import InputPanel

    state = AppState()
    panel = InputPanel(state)
    qtbot.addWidget(panel)
    state.set_model(poisoned)
    assert "⚠ Weights" in panel.facts_label.text()
    assert "1 tensor contains NaN or inf: token_embedding.weight" in panel.facts_label.text()


def _attention_screen_rgb(view, row, col):
    image = view.plot_widget.grab().toImage()
    point = view.plot_widget.mapFromScene(view.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5)))
    color = image.pixelColor(point.x(), point.y())
    return color.red(), color.green(), color.blue()


def test_the_attention_view_paints_nan_magenta_and_reads_it_out(qtbot, poisoned, trace):
    from visualizer.views.attention_view import AttentionView

    state = _state(poisoned, trace)
    view = AttentionView(state)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    matrix = trace.attention["decoder"][0, 0]
    last = matrix.shape[1] - 1
    assert np.isnan(matrix[NAN_ROW, 0]) and np.isnan(matrix[NAN_ROW, last])  # a masked cell, NaN too
    assert _attention_screen_rgb(view, NAN_ROW + 1, 0) == NAN_COLOR
    assert _attention_screen_rgb(view, NAN_ROW, last) == NAN_COLOR  # NaN wins over the mask's grey
    assert _attention_screen_rgb(view, 0, last) == MASKED_COLOR  # a row that never saw the NaN
    weight = colors_of(matrix, (0.0, 1.0), "viridis")[1, 0]
    assert _attention_screen_rgb(view, 1, 0) == tuple(int(v) for v in weight)
    assert "magenta: NaN" in view.readout.text()
    scene = view.plot.vb.mapViewToScene(QPointF(0.5, NAN_ROW + 0.5))
    view._on_mouse_moved(scene)
    assert view.readout.text() == '"chat" #3 → "<s>" #0: NaN'
    state.set_option(auto_levels=True)  # auto levels span the numbers only
    finite = matrix[np.isfinite(matrix) & ~state.masked_cells()]
    assert view.color_bar.levels() == pytest.approx((finite.min(), finite.max()))


def test_the_head_grid_paints_nan_magenta_in_every_thumbnail(qtbot, poisoned, trace):
    from visualizer.views.head_grid_view import HeadGridView

    state = _state(poisoned, trace)
    view = HeadGridView(state)
    qtbot.addWidget(view)
    view.resize(900, 800)
    view.show()
    qtbot.waitExposed(view)
    stack = trace.attention["decoder"]
    queries, keys = stack.shape[2:]
    image = view.graphics.grab().toImage()

    def rgb(x, y):
        point = view.graphics.mapFromScene(view.image.mapToScene(x, y))
        color = image.pixelColor(point.x(), point.y())
        return color.red(), color.green(), color.blue()

    # Layer 0's rows before "chat" are weights; pattern · v then multiplies its 0 by the NaN value
    # of "chat", so layer 1 is NaN everywhere, masked cells too.
    assert np.isnan(stack[1]).all()
    for head in range(stack.shape[1]):
        row, col = view.tile_origin(0, head)
        assert rgb(col + 0.5, row + NAN_ROW + 0.5) == NAN_COLOR
        assert rgb(col + keys - 0.5, row + 0.5) == MASKED_COLOR
        row, col = view.tile_origin(1, head)
        assert rgb(col + keys - 0.5, row + 0.5) == NAN_COLOR
    row, col = view.tile_origin(1, 2)
    assert view.describe_point(col + 0.5, row + NAN_ROW + 0.5).split("\n")[1].endswith(": NaN")
    assert "Magenta: NaN" in view.caption.text()
    assert view.color_bar.levels() == (0.0, 1.0)
    assert np.isnan(view.mosaic[queries]).all()  # the gap under layer 0 is NaN in the mosaic,
    assert not view.nan[queries].any() and not view.nan[:, keys].any()  # but no NaN cell: left white


def test_the_activation_view_paints_nan_magenta_not_white(qtbot, poisoned, trace):
    from visualizer.views.activation_view import ActivationView

    state = _state(poisoned, trace, hook="decoder.embed")
    view = ActivationView(state)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    matrix = trace.activations["decoder.embed"]
    assert view.hook == "decoder.embed" and np.isnan(matrix[NAN_ROW]).all()
    levels = activation_levels(matrix, False)
    assert all(math.isfinite(v) for v in levels)
    assert levels[1] == pytest.approx(np.abs(matrix[np.isfinite(matrix)]).max())
    assert view.color_bar.levels() == pytest.approx(levels)
    image = view.graphics.grab().toImage()

    def rgb(row, col):
        point = view.graphics.mapFromScene(view.image.mapToScene(col + 0.5, row + 0.5))
        color = image.pixelColor(point.x(), point.y())
        return color.red(), color.green(), color.blue()

    assert rgb(NAN_ROW, 0) == NAN_COLOR
    expected = colors_of(matrix, levels, DIVERGING_COLORMAP)[0, 0]
    assert rgb(0, 0) == tuple(int(v) for v in expected)
    assert f"; {matrix.shape[1]} NaN (magenta)" in view.caption.text()
    view._on_scene_hovered(view.image.mapToScene(0.5, NAN_ROW + 0.5))
    assert view.graphics.toolTip() == '"chat" #3 · feature 0: NaN'


def _cell_rgb(image, rect, shape, row, col):
    rows, cols = shape
    scale = DPI / 72
    return pixel_rgb(image, (rect.left() + (col + 0.5) * rect.width() / cols) * scale,
                     (rect.top() + (row + 0.5) * rect.height() / rows) * scale)


def _key_rgb(image, layout, line, lines):
    key = layout.masked_key
    x = key.left() + layout.colorbar.width() / 2
    y = key.top() + (line + 0.5) * key.height() / lines
    return pixel_rgb(image, x * DPI / 72, y * DPI / 72)


def test_exported_heatmaps_paint_nan_magenta_with_a_key(poisoned, trace, tmp_path):
    state = _state(poisoned, trace)
    selection = attention_selection(state)
    figure = HeatmapFigure(selection)
    assert figure.has_nan and figure.has_masked
    width, height = 700, 560
    path = export_figure(figure, tmp_path / "decoder.png", width, height, DPI)
    assert_heatmap_png(path, figure, width, height, DPI)  # sampled cells, NaN ones included
    image = QImage(str(path))
    layout = figure.layout(QSizeF(width * 72 / DPI, height * 72 / DPI))
    shape = selection.matrix.shape
    assert _cell_rgb(image, layout.heatmap, shape, NAN_ROW, shape[1] - 1) == NAN_COLOR
    assert _cell_rgb(image, layout.heatmap, shape, 0, shape[1] - 1) == MASKED_COLOR
    assert _key_rgb(image, layout, 0, 2) == MASKED_COLOR and _key_rgb(image, layout, 1, 2) == NAN_COLOR
    assert layout.masked_key.top() > layout.colorbar.bottom()
    texts = svg_texts(export_figure(figure, tmp_path / "decoder.svg"))
    assert "NaN" in texts and "masked" in texts

    grid = GridFigure(selection, layer_masks(state))
    assert grid.levels == (0.0, 1.0) and grid.has_nan
    grid_path = export_figure(grid, tmp_path / "grid.png", 900, 600, DPI)
    image = QImage(str(grid_path))
    grid_layout = grid.layout(QSizeF(900 * 72 / DPI, 600 * 72 / DPI))
    for rect in grid_layout.cells[0]:
        assert _cell_rgb(image, rect, shape, NAN_ROW, 0) == NAN_COLOR
        assert _cell_rgb(image, rect, shape, 0, shape[1] - 1) == MASKED_COLOR
    for rect in grid_layout.cells[1]:  # NaN everywhere: the masked cells too
        assert _cell_rgb(image, rect, shape, 0, shape[1] - 1) == NAN_COLOR
    assert _key_rgb(image, grid_layout, 1, 2) == NAN_COLOR


def test_an_exported_activation_figure_paints_nan_magenta(poisoned, trace, tmp_path):
    state = _state(poisoned, trace, hook="decoder.embed")
    selection = activation_selection(state)
    figure = HeatmapFigure(selection)
    assert all(math.isfinite(v) for v in figure.levels)
    path = export_figure(figure, tmp_path / "embed.png", 700, 400, DPI)
    image = QImage(str(path))
    layout = figure.layout(QSizeF(700 * 72 / DPI, 400 * 72 / DPI))
    shape = selection.matrix.shape
    assert _cell_rgb(image, layout.heatmap, shape, NAN_ROW, 5) == NAN_COLOR
    expected = colors_of(selection.matrix, figure.levels, DIVERGING_COLORMAP)[0, 5]
    assert _cell_rgb(image, layout.heatmap, shape, 0, 5) == tuple(int(v) for v in expected)
    assert not figure.has_masked and _key_rgb(image, layout, 0, 1) == NAN_COLOR
