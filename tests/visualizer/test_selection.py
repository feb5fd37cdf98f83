"""The kind, layer and head selectors and the arrow keys pick what the heatmap shows."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.conftest import make_tiny_model
from visualizer.state.app_state import AppState
from visualizer.views.attention_view import AttentionView
from visualizer.widgets.selection_bar import SelectionBar


@pytest.fixture(scope="module")
def trace_and_model():
    model = make_tiny_model(n_encoder_layers=3, n_decoder_layers=2)
    return model.run("the cat sees a dog"), model


@pytest.fixture
def bar_and_view(qtbot, trace_and_model):
    trace, model = trace_and_model
    state = AppState()
    bar, view = SelectionBar(state), AttentionView(state)
    for widget in (bar, view):
        qtbot.addWidget(widget)
    bar.install_navigation(view, view.plot_widget)
    state.set_model(model)
    state.set_trace(trace)
    return bar, view, trace


def test_selectors_list_the_model_kinds_layers_and_heads(bar_and_view):
    bar, _view, _trace = bar_and_view
    assert [bar.kind_selector.itemData(i) for i in range(bar.kind_selector.count())] == [
        "encoder", "decoder", "cross"]
    assert [bar.head_selector.itemText(i) for i in range(bar.head_selector.count())] == [
        "Head 0", "Head 1", "Head 2", "Head 3", "Mean of heads", "Max of heads"]
    bar.state.set_selection(kind="encoder")
    assert bar.layer_selector.count() == 3
    bar.state.set_selection(kind="decoder", layer=2)  # the decoder has only 2 layers: clamped
    assert bar.layer_selector.count() == 2 and bar.state.layer == 1
    assert bar.layer_selector.currentText() == "Layer 1"


def test_picking_in_the_combo_boxes_changes_the_image(bar_and_view, qtbot):
    bar, view, trace = bar_and_view
    bar.kind_selector.setCurrentIndex(2)
    bar.kind_selector.activated.emit(2)
    bar.layer_selector.activated.emit(1)
    bar.head_selector.activated.emit(3)
    assert (bar.state.kind, bar.state.layer, bar.state.head) == ("cross", 1, 3)
    np.testing.assert_array_equal(view.image_item.image, trace.attention["cross"][1, 3])
    bar.head_selector.activated.emit(4)
    assert bar.state.head == "mean"
    np.testing.assert_allclose(view.image_item.image, trace.attention["cross"][1].mean(0), rtol=1e-6)


def test_arrow_keys_step_heads_and_layers(bar_and_view, qtbot):
    bar, view, trace = bar_and_view
    bar.state.set_selection(kind="encoder", layer=0, head=0)
    qtbot.keyClick(view.plot_widget, Qt.Key_Right)
    qtbot.keyClick(view.plot_widget, Qt.Key_Right)
    assert bar.state.head == 2 and bar.head_selector.currentText() == "Head 2"
    qtbot.keyClick(view.plot_widget, Qt.Key_Down)
    qtbot.keyClick(view, Qt.Key_Down)
    assert bar.state.layer == 2 and bar.layer_selector.currentText() == "Layer 2"
    np.testing.assert_array_equal(view.image_item.image, trace.attention["encoder"][2, 2])
    qtbot.keyClick(view.plot_widget, Qt.Key_Left)
    qtbot.keyClick(view.plot_widget, Qt.Key_Up)
    assert (bar.state.layer, bar.state.head) == (1, 1)


def test_arrow_keys_stop_at_the_ends_and_reach_mean_and_max(bar_and_view, qtbot):
    bar, view, _trace = bar_and_view
    bar.state.set_selection(kind="encoder", layer=0, head=0)
    qtbot.keyClick(view.plot_widget, Qt.Key_Up)
    qtbot.keyClick(view.plot_widget, Qt.Key_Left)
    assert (bar.state.layer, bar.state.head) == (0, 0)
    for _ in range(10):
        qtbot.keyClick(view.plot_widget, Qt.Key_Right)
    assert bar.state.head == "max"
    qtbot.keyClick(view.plot_widget, Qt.Key_Left)
    assert bar.state.head == "mean"


def test_a_decoder_only_model_offers_only_decoder_attention(qtbot):
    model = make_tiny_model("decoder-only")
    state = AppState()
    bar = SelectionBar(state)
    qtbot.addWidget(bar)
    state.set_model(model)
    state.set_trace(model.run("the cat", max_new_tokens=3))
    assert [bar.kind_selector.itemData(i) for i in range(bar.kind_selector.count())] == ["decoder"]
    assert state.kind == "decoder" and bar.kind_selector.currentText() == "Decoder self-attention"


def test_selectors_are_disabled_without_a_model(qtbot):
    bar = SelectionBar(AppState())
    qtbot.addWidget(bar)
    assert not bar.kind_selector.isEnabled() and not bar.head_selector.isEnabled()
