"""The attention heatmap shows exactly the trace's matrix, with readable token labels."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter

from tests.conftest import make_tiny_model
from visualizer.state.app_state import AppState
from visualizer.views.attention_view import AttentionView
from visualizer.views.token_axis import label_step, shorten

SENTENCE = "the small cat sees the red house ."


@pytest.fixture(scope="module")
def model():
    return make_tiny_model()


@pytest.fixture(scope="module")
def trace(model):
    return model.run(SENTENCE)


@pytest.fixture
def view(qtbot, model, trace):
    state = AppState()
    widget = AttentionView(state)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    state.set_model(model)
    state.set_trace(trace)
    return widget


@pytest.mark.parametrize("kind", ["encoder", "decoder", "cross"])
def test_every_head_is_shown_exactly_with_queries_as_rows(view, trace, kind):
    layers, heads, queries, keys = trace.attention[kind].shape
    for layer in range(layers):
        for head in range(heads):
            view.state.set_selection(kind=kind, layer=layer, head=head)
            image = view.image_item.image
            assert image.shape == (queries, keys) and image.dtype == np.float32
            np.testing.assert_array_equal(image, trace.attention[kind][layer, head])


def test_mean_and_max_of_heads_are_computed_over_the_heads(view, trace):
    stack = trace.attention["cross"][1]
    view.state.set_selection(kind="cross", layer=1, head="mean")
    np.testing.assert_allclose(view.image_item.image, stack.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(view.image_item.image.sum(axis=1), 1.0, atol=1e-5)  # rows still sum to 1
    view.state.set_selection(head="max")
    np.testing.assert_array_equal(view.image_item.image, stack.max(axis=0))
    assert "max of heads" in view.plot.titleLabel.text


def test_token_labels_follow_the_kind(view, trace):
    view.state.set_selection(kind="cross", layer=0, head=0)
    assert view.left_axis.tokens() == trace.target_tokens
    assert view.bottom_axis.tokens() == trace.source_tokens
    view.state.set_selection(kind="decoder")
    assert view.left_axis.tokens() == view.bottom_axis.tokens() == trace.target_tokens


def test_rows_can_be_labelled_by_the_predicted_token(view, trace):
    view.state.set_selection(kind="decoder", layer=0, head=0)
    view.predicted_rows_box.setChecked(True)
    assert view.state.label_rows_by_prediction
    assert view.left_axis.tokens() == trace.predicted_tokens
    assert view.bottom_axis.tokens() == trace.target_tokens


def test_levels_are_fixed_to_0_1_unless_auto_levels(view, trace):
    view.state.set_selection(kind="encoder", layer=0, head=0)
    assert tuple(view.image_item.levels) == (0.0, 1.0)
    view.auto_levels_box.setChecked(True)
    matrix = trace.attention["encoder"][0, 0]
    np.testing.assert_allclose(view.image_item.levels, (matrix.min(), matrix.max()), rtol=1e-6)


def test_colormap_choice_recolours_the_image_and_the_bar(view):
    import pyqtgraph as pg

    view.colormap_selector.setCurrentText("magma")
    assert view.state.colormap == "magma"
    expected = pg.colormap.get("magma").getLookupTable(nPts=256)
    lut = view.image_item.lut
    assert lut is not None and np.array_equal(np.asarray(lut)[:, :3], expected[:, :3])


def test_hovering_a_cell_reads_query_key_and_weight(view, trace, qtbot):
    view.state.set_selection(kind="cross", layer=1, head=3)
    row, col = 2, 1
    scene_pos = view.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))
    assert view.cell_at(scene_pos) == (row, col)
    view._on_mouse_moved(scene_pos)
    weight = trace.attention["cross"][1, 3, row, col]
    expected = f"{trace.target_tokens[row]} → {trace.source_tokens[col]}: {weight:.2f}"
    assert view.readout.text() == expected
    assert view.state.hover == ("target", row)
    view._on_mouse_moved(view.plot.vb.mapViewToScene(QPointF(-5, -5)))  # off the matrix
    assert "←/→" in view.readout.text() and view.state.hover == ("", -1)


def test_a_token_hovered_in_any_pane_is_banded_on_the_axis_that_shows_it(view):
    view.state.set_selection(kind="cross", layer=0, head=0)
    view.state.set_hover("source", 2)  # e.g. from the activation view
    assert view.column_band.isVisible() and tuple(view.column_band.getRegion()) == (2, 3)
    assert not view.row_band.isVisible()  # cross-attention rows are target tokens
    view.state.set_hover("target", 1)
    assert view.row_band.isVisible() and tuple(view.row_band.getRegion()) == (1, 2)
    assert not view.column_band.isVisible()
    view.state.set_selection(kind="encoder")  # no target axis any more
    assert not view.row_band.isVisible() and not view.column_band.isVisible()
    view.state.set_hover("", -1)
    assert not view.row_band.isVisible()


def test_long_sequences_thin_their_labels_instead_of_overlapping(qtbot, model):
    words = ("the small cat sees the red house . " * 40).strip()
    trace = model.run(words, target="le chat")
    state = AppState()
    widget = AttentionView(state)
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    state.set_model(model)
    state.set_trace(trace)
    state.set_selection(kind="encoder", layer=0, head=0)
    qtbot.waitUntil(lambda: bool(widget.left_axis.shown_indices), timeout=3000)
    rows = len(trace.source_tokens)
    shown = widget.left_axis.shown_indices
    assert 1 < len(shown) < rows
    spacing_px = widget.left_axis.geometry().height() / rows * (shown[1] - shown[0])
    assert spacing_px >= widget.left_axis._label_pixels() - 1e-6  # labels never overlap
    for axis in (widget.left_axis, widget.bottom_axis):
        assert drawn_labels(axis) == [shorten(axis.tokens()[i]) for i in axis.shown_indices]


def drawn_labels(axis) -> list[str]:
    """The tick labels pyqtgraph actually paints (it silently drops any that do not fit the axis)."""
    image = QImage(axis.geometry().size().toSize(), QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in specs[2]]


def test_label_helpers():
    assert label_step(10, 500, 20) == 1
    assert label_step(300, 600, 20) == 10
    assert shorten("a" * 30).endswith("…") and len(shorten("a" * 30)) == 14
    assert shorten("line\nbreak") == "line\\nbreak"
