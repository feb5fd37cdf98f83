"""Head (line) view: one line per weight of the selected head, isolated on hover."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from tests.visualizer.shown_view import show_view
from visualizer.state.app_state import AppState
from visualizer.views.head_line_view import MIN_WEIGHT, HeadLineView


@pytest.fixture
def view_and_state(qtbot, tiny_run):
    return show_view(qtbot, tiny_run, HeadLineView, (600, 400))


def _as_matrix(lines, shape, head):
    matrix = np.zeros(shape, dtype=np.float32)
    chosen = lines[lines["head"] == head]
    matrix[chosen["query"], chosen["key"]] = chosen["weight"]
    return matrix


def test_lines_are_the_selected_heads_weights(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    state.set_selection(kind="cross", layer=1, head=2)
    expected = trace.attention["cross"][1, 2]
    drawn = _as_matrix(view.visible_lines(), expected.shape, head=2)
    np.testing.assert_array_equal(drawn, np.where(expected >= MIN_WEIGHT, expected, 0))
    assert view.query_tokens == trace.target_tokens and view.key_tokens == trace.source_tokens


def test_decoder_lines_never_reach_future_tokens(view_and_state):
    state, view = view_and_state
    state.set_selection(kind="decoder", layer=0, head=1)
    lines = view.visible_lines()
    assert len(lines) > 0 and (lines["key"] <= lines["query"]).all()


def test_mean_of_heads_and_every_head_mode(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    state.set_selection(kind="encoder", layer=0, head="mean")
    mean = trace.attention["encoder"][0].mean(axis=0)
    drawn = _as_matrix(view.visible_lines(), mean.shape, head=-1)
    np.testing.assert_allclose(drawn, np.where(mean >= MIN_WEIGHT, mean, 0), rtol=1e-6)
    view.all_heads.setChecked(True)
    lines = view.visible_lines()
    assert sorted(set(lines["head"].tolist())) == [0, 1, 2, 3]
    np.testing.assert_array_equal(_as_matrix(lines, mean.shape, head=3)[1],
                                  np.where(trace.attention["encoder"][0, 3, 1] >= MIN_WEIGHT,
                                           trace.attention["encoder"][0, 3, 1], 0))


def test_hover_from_another_pane_isolates_the_tokens_lines(view_and_state):
    state, view = view_and_state
    state.set_selection(kind="cross", layer=0, head=0)
    state.set_hover("target", 3)  # a decoder token: the query column in cross-attention
    lines = view.visible_lines()
    assert view.isolated == ("query", 3)
    assert len(lines) > 0 and (lines["query"] == 3).all()
    state.set_hover("source", 1)  # an encoder token: the key column
    assert (view.visible_lines()["key"] == 1).all()
    state.set_hover("source", -1)
    assert len(view.visible_lines()) == len(_all_lines(view))


def _all_lines(view):
    return [1 for m in view.matrices.values() for w in m.ravel() if w >= MIN_WEIGHT]


def test_hovering_a_key_token_with_the_mouse_isolates_it_and_tells_every_pane(qtbot, view_and_state):
    state, view = view_and_state
    state.set_selection(kind="encoder", layer=1, head=0)
    left, right = view.canvas.column_rects()
    y = int(view.canvas.row_y(2))
    qtbot.mouseMove(view.canvas, QPoint(int(right.center().x()), y))
    qtbot.waitUntil(lambda: view.isolated == ("key", 2), timeout=2000)
    assert state.hover == ("source", 2)
    assert (view.visible_lines()["key"] == 2).all()
    qtbot.mouseMove(view.canvas, QPoint(int(left.center().x()), y))
    qtbot.waitUntil(lambda: view.isolated == ("query", 2), timeout=2000)


def test_painted_lines_follow_the_weights(view_and_state):
    state, view = view_and_state
    state.set_selection(kind="encoder", layer=0, head=0)
    left, right = view.canvas.column_rects()
    x = int((left.right() + right.left()) / 2)
    # a line's midpoint lies halfway between its two rows: the strongest link is painted there
    matrix = view.matrices[0]
    query, key = np.unravel_index(np.argmax(matrix), matrix.shape)
    y = int((view.canvas.row_y(query) + view.canvas.row_y(key)) / 2)
    background = view.canvas.palette().base().color()
    assert view.canvas.grab().toImage().pixelColor(x, y) != background
    state.set_trace(None)
    assert view.canvas.grab().toImage().pixelColor(x, y) == background


def test_long_inputs_keep_only_the_strongest_lines(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    view.max_lines = 5
    state.set_selection(kind="encoder", layer=1, head=1)
    lines = view.visible_lines()
    weights = trace.attention["encoder"][1, 1]
    assert len(lines) == 5
    np.testing.assert_allclose(np.sort(lines["weight"]), np.sort(weights.ravel())[-5:])


def test_a_token_hovered_elsewhere_is_scrolled_into_view(qtbot, tiny_run):
    model = tiny_run[0]
    trace = model.run("the small cat sees the big red house and the dog runs " * 4, "le chat")
    state = AppState()
    state.set_model(model)
    state.set_trace(trace)
    state.set_selection(kind="encoder")
    view = HeadLineView(state)
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    qtbot.waitExposed(view)
    bar = view.scroll.verticalScrollBar()
    assert bar.value() == 0 and bar.maximum() > 0
    state.set_hover("source", len(trace.source_tokens) - 1)
    row_y = view.canvas.row_y(len(trace.source_tokens) - 1)
    assert bar.value() <= row_y <= bar.value() + view.scroll.viewport().height()
