"""The attention heatmap shows exactly the trace's matrix, with readable token labels."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QLabel

from tests.conftest import make_tiny_model
from tests.visualizer.shown_view import show_then_feed
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
    return show_then_feed(qtbot, AttentionView, (900, 700), model, trace)


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


def _hover(view, row, col):
    """Move the mouse (as the scene reports it) to the centre of a cell; returns its scene point."""
    scene_pos = view.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))
    assert view.cell_at(scene_pos) == (row, col)
    view._on_mouse_moved(scene_pos)
    return scene_pos


def _readout(view) -> QLabel:
    label = view.findChild(QLabel, "hoverReadout")  # the automation name scripts look for
    assert label is view.readout
    return label


def test_hovering_a_cell_reads_query_key_and_weight(view, trace, qtbot):
    view.state.set_selection(kind="cross", layer=1, head=3)
    row, col = 2, 1
    _hover(view, row, col)
    weight = trace.attention["cross"][1, 3, row, col]
    expected = (f'"{trace.target_tokens[row]}" #{row} → "{trace.source_tokens[col]}" #{col}: '
                f"{format(float(weight), '.3g')}")
    assert _readout(view).text() == expected
    assert len(expected.rsplit(": ", 1)[1].lstrip("0.")) <= 3  # three significant digits
    assert view.state.hover == ("target", row)
    view._on_mouse_moved(view.plot.vb.mapViewToScene(QPointF(-5, -5)))  # off the matrix
    assert "←/→" in view.readout.text() and view.state.hover == ("", -1)


def test_the_readout_follows_the_selection_under_a_still_mouse(view, model, trace):
    state = view.state
    state.set_selection(kind="cross", layer=1, head=3)
    row, col = 2, 1
    mouse = _hover(view, row, col)

    def expected(kind, layer, head):
        return format(float(trace.attention[kind][layer, head, row, col]), ".3g")

    for head in (2, 1, 0):  # ←/→ step the head: the same cell, the new head's weight
        state.set_selection(head=head)
        assert _readout(view).text().endswith(": " + expected("cross", 1, head))
    state.set_selection(layer=0)
    assert view.readout.text().endswith(": " + expected("cross", 0, 0))
    state.set_selection(kind="encoder")  # rows are now source tokens
    row, col = view.cell_at(mouse)  # the view re-fits a matrix of another shape
    assert view.readout.text() == (f'"{trace.source_tokens[row]}" #{row} → "{trace.source_tokens[col]}" '
                                   f"#{col}: {expected('encoder', 0, 0)}")
    assert state.hover == ("source", row)
    other = model.run("a dog .")  # a new trace: the cell now under the mouse, with its new weight
    state.set_trace(other)
    row, col = view.cell_at(mouse)
    weight = format(float(other.attention["encoder"][0, 0, row, col]), ".3g")
    assert view.readout.text() == (f'"{other.source_tokens[row]}" #{row} → '
                                   f'"{other.source_tokens[col]}" #{col}: {weight}')
    state.set_model(model)  # a model change clears the trace: nothing is under the mouse any more
    assert view.readout.text().startswith("Hover a cell")


def test_leaving_the_plot_brings_back_the_hint(view, qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    view.state.set_selection(kind="encoder", layer=0, head=0)
    _hover(view, 1, 1)
    assert "→" in view.readout.text()
    QApplication.sendEvent(view.plot_widget.viewport(), QEvent(QEvent.Type.Leave))
    assert view.readout.text().startswith("Hover a cell") and view.state.hover == ("", -1)
    view.state.set_selection(head=1)  # a later head step must not bring the old cell back
    assert view.readout.text().startswith("Hover a cell")


def _screen_rgb(view, row, col):
    """The colour the screen shows at the centre of a cell."""
    image = view.plot_widget.grab().toImage()
    point = view.plot_widget.mapFromScene(view.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5)))
    color = image.pixelColor(point.x(), point.y())
    return color.red(), color.green(), color.blue()


def test_masked_cells_are_grey_read_masked_and_leave_the_levels_alone(view, trace):
    from visualizer.figures.colors import MASKED_COLOR, colors_of

    state = view.state
    state.set_selection(kind="decoder", layer=1, head=2)
    masked = state.masked_cells()
    assert masked is not None and masked[0, 1] and not masked[1, 0]  # causal: future keys are hidden
    np.testing.assert_array_equal(view.image_item.image, trace.attention["decoder"][1, 2])  # exact weights
    np.testing.assert_array_equal(view.mask_item.image.astype(bool), masked)
    assert _screen_rgb(view, 0, 5) == MASKED_COLOR  # above the diagonal: the grey
    below = colors_of(trace.attention["decoder"][1, 2], (0.0, 1.0), "viridis")[5, 0]
    assert _screen_rgb(view, 5, 0) == tuple(int(v) for v in below)  # below: the weight's colour
    _hover(view, 0, 5)
    assert view.readout.text().endswith(": masked")
    _hover(view, 5, 0)
    assert not view.readout.text().endswith("masked")
    state.set_option(auto_levels=True)  # the levels span the weights, not the mask's zeros
    weights = trace.attention["decoder"][1, 2][~masked]
    np.testing.assert_allclose(view.image_item.levels, (weights.min(), weights.max()), rtol=1e-6)
    assert weights.min() > 0
    state.set_selection(kind="cross")  # cross-attention hides nothing here
    assert view.mask_item.image is None


def test_the_placeholder_says_which_checkpoint_is_loading(qtbot, model):
    state = AppState()
    widget = AttentionView(state)
    qtbot.addWidget(widget)
    assert widget.plot.titleLabel.text.startswith("No model open yet")
    state.set_loading("tiny.safetensors")
    assert widget.plot.titleLabel.text == "Loading tiny.safetensors…"
    state.set_model(model)
    state.set_loading("")
    assert widget.plot.titleLabel.text == "Run a sentence to see its attention"


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
