"""A ModernBERT folder's local layers are named in the facts and the layer selector, and their
heatmaps grey exactly the keys outside the window, on screen and in exported figures."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSizeF
from PySide6.QtGui import QImage

import engine
from tests.conftest import make_tiny_model
from tests.engine.hf_fixtures_modernbert import LOCAL_ATTENTION, modernbert_folder
from tests.export_checks import pixel_rgb, selection_of
from tests.visualizer.shown_view import show_then_feed
from visualizer.figures import HeatmapFigure, export_figure
from visualizer.figures.colors import MASKED_COLOR, colors_of
from visualizer.state.app_state import AppState
from visualizer.views.attention_view import AttentionView
from visualizer.widgets.input_panel import model_facts
from visualizer.widgets.selection_bar import SelectionBar

pytest.importorskip("transformers")

TEXT = "The committee will meet on Monday, 4 March 2024, near the small garden."
WINDOW = LOCAL_ATTENTION // 2
WIDTH, HEIGHT, DPI = 700, 560, 100


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return engine.load(modernbert_folder(tmp_path_factory))


@pytest.fixture(scope="module")
def trace(model):
    trace = model.run(TEXT)
    assert len(trace.source_tokens) > 3 * WINDOW  # the window hides keys on every row
    return trace


def outside_window(trace) -> np.ndarray:
    positions = np.arange(len(trace.source_tokens))
    return np.abs(positions[:, None] - positions[None, :]) > WINDOW


def test_facts_name_the_local_layers_their_window_and_both_rotary_bases(model):
    facts = dict(model_facts(model))
    assert facts["Attention"] == "layers 1, 2 local (±4 tokens); 0, 3 global"
    assert facts["Positions"] == "rotary (θ 80,000 global / 2,000 local)"


def test_facts_of_a_model_without_windows_or_rotary_say_nothing_of_them():
    facts = dict(model_facts(make_tiny_model()))
    assert "Attention" not in facts and "Positions" not in facts
    rotary = dict(model_facts(make_tiny_model("decoder-only", positions="rotary", rope_theta=500.0)))
    assert rotary["Positions"] == "rotary (θ 500)" and "Attention" not in rotary


def test_layer_selector_marks_local_layers_for_self_attention_only(qtbot, model):
    state = AppState()
    bar = SelectionBar(state)
    qtbot.addWidget(bar)
    state.set_model(model)
    items = [bar.layer_selector.itemText(i) for i in range(bar.layer_selector.count())]
    assert items == ["Layer 0", "Layer 1 (local ±4)", "Layer 2 (local ±4)", "Layer 3"]
    windowed = make_tiny_model(attention_window=3, local_layers=[1])
    state.set_model(windowed)
    labels = {}
    for kind in ("encoder", "decoder", "cross"):
        state.set_selection(kind=kind)
        labels[kind] = [bar.layer_selector.itemText(i) for i in range(bar.layer_selector.count())]
    assert labels == {"encoder": ["Layer 0", "Layer 1 (local ±3)"],
                      "decoder": ["Layer 0", "Layer 1 (local last 3)"],  # causal: the last 3 keys
                      "cross": ["Layer 0", "Layer 1"]}


def _screen_rgb(view, row, col):
    image = view.plot_widget.grab().toImage()
    point = view.plot_widget.mapFromScene(view.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5)))
    color = image.pixelColor(point.x(), point.y())
    return color.red(), color.green(), color.blue()


def test_the_heatmap_greys_keys_outside_a_local_window_and_none_on_a_global_layer(qtbot, model, trace):
    view = show_then_feed(qtbot, AttentionView, (900, 700), model, trace)
    outside = outside_window(trace)
    last = len(trace.source_tokens) - 1
    view.state.set_selection(kind="encoder", layer=1, head=0)
    np.testing.assert_array_equal(view.mask_item.image.astype(bool), outside)
    assert _screen_rgb(view, 0, last) == MASKED_COLOR
    inside = colors_of(trace.attention["encoder"][1, 0], (0.0, 1.0), "viridis")[0, WINDOW]
    assert _screen_rgb(view, 0, WINDOW) == tuple(int(v) for v in inside)
    view.state.set_selection(layer=3)
    assert view.mask_item.image is None
    far = colors_of(trace.attention["encoder"][3, 0], (0.0, 1.0), "viridis")[0, last]
    assert _screen_rgb(view, 0, last) == tuple(int(v) for v in far)


@pytest.mark.parametrize("layer", [1, 3])
def test_exported_png_is_grey_exactly_outside_the_window_of_local_layers(model, trace, tmp_path, layer):
    selection = selection_of(model, trace, "encoder", layer, 2)
    figure = HeatmapFigure(selection)
    path = export_figure(figure, tmp_path / f"layer{layer}.png", WIDTH, HEIGHT, DPI)
    image = QImage(str(path))
    rect = figure.layout(QSizeF(WIDTH * 72 / DPI, HEIGHT * 72 / DPI)).heatmap
    rows, cols = selection.matrix.shape
    scale = DPI / 72
    grey = np.array([[pixel_rgb(image, (rect.left() + (c + 0.5) * rect.width() / cols) * scale,
                                (rect.top() + (r + 0.5) * rect.height() / rows) * scale) == MASKED_COLOR
                      for c in range(cols)] for r in range(rows)])
    expected = outside_window(trace) if layer == 1 else np.zeros_like(grey)
    np.testing.assert_array_equal(grey, expected)
