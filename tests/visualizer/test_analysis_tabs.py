"""The analysis views inside the main window: their tabs, a grid click, a shared hover."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

LOAD_TIMEOUT = 60_000  # the first load imports torch


def _tab_titles(window):
    return [window.view_tabs.tabText(i) for i in range(window.view_tabs.count())]


def test_every_analysis_view_has_a_tab(window):
    assert {"All heads", "Head lines", "Activations", "Depth"} <= set(_tab_titles(window))
    assert window.findChild(type(window.head_grid_view), "headGridView") is window.head_grid_view
    assert window.findChild(type(window.activation_view), "activationView") is window.activation_view


def test_a_grid_click_opens_that_head_in_the_attention_tab(window, qtbot):
    grid = window.head_grid_view
    window.show_pane("all-heads")
    qtbot.waitExposed(grid)
    kind = window.state.kind
    np.testing.assert_array_equal(grid.thumbnail(1, 3), window.state.trace.attention[kind][1, 3])
    rows, cols = grid.tile_shape
    row, col = grid.tile_origin(1, 3)
    point = grid.graphics.mapFromScene(grid.image.mapToScene(col + cols / 2, row + rows / 2))
    with qtbot.waitSignal(grid.headActivated, timeout=2000):
        qtbot.mouseClick(grid.graphics.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(point.x(), point.y()))
    assert (window.state.layer, window.state.head) == (1, 3)
    assert window.state.front_pane == "attention"
    np.testing.assert_array_equal(window.attention_view.image_item.image,
                                  window.state.trace.attention[kind][1, 3])


def test_a_new_run_reaches_the_activation_and_depth_views(window, qtbot):
    window.input_panel.source_input.setText("the big dog sleeps")
    window.input_panel.target_input.setText("")
    with qtbot.waitSignal(window.traceChanged, timeout=LOAD_TIMEOUT) as blocker:
        window.run()
    trace = blocker.args[0]
    window.show_pane("activations")
    window.state.set_selection(hook="encoder.1.ffn.hidden")
    np.testing.assert_array_equal(window.activation_view.image.image,
                                  trace.activations["encoder.1.ffn.hidden"])
    depth = window.depth_plot_view
    window.show_pane("depth")  # a pane behind another tab draws the new run when it is shown
    depth.stack_selector.setCurrentIndex(depth.stack_selector.findData("encoder"))
    np.testing.assert_allclose(depth.series["resid"][1][:, -1], np.linalg.norm(
        trace.activations["encoder.1.resid_post"], axis=-1), rtol=1e-5)


def test_hovering_a_token_highlights_it_in_every_pane(window):
    state = window.state
    state.set_selection(kind="cross", hook="decoder.0.resid_mid")
    window.depth_plot_view.stack_selector.setCurrentIndex(
        window.depth_plot_view.stack_selector.findData("decoder"))
    state.set_hover("target", 1)
    assert window.activation_view.hover_marks.row_band.isVisible()
    assert window.activation_view.hover_marks.row_band.rect().top() == 1
    window.show_pane("head-lines")  # panes behind another tab show the hover when they come forward
    assert window.head_line_view.isolated == ("query", 1)
    window.show_pane("depth")
    np.testing.assert_array_equal(window.depth_plot_view.highlight["resid"].getData()[1],
                                  window.depth_plot_view.series["resid"][1][1])
    window.show_pane("attention")
    marks = window.attention_view.hover_marks  # cross-attention: decoder tokens are the rows
    assert marks.row_band.isVisible() and not marks.column_band.isVisible()
    assert marks.row_band.rect().top() == 1
    assert marks.row_band.rect().width() == len(window.state.trace.source_tokens)
    state.set_hover("source", 2)  # an encoder token: a key column of cross-attention
    assert marks.column_band.isVisible() and marks.column_band.rect().left() == 2
    assert not window.activation_view.hover_marks.row_band.isVisible()  # decoder rows only


def test_arrow_keys_in_the_grid_step_the_head(window, qtbot):
    grid = window.head_grid_view
    window.show_pane("all-heads")
    window.state.set_selection(layer=0, head=0)
    qtbot.keyClick(grid.graphics, Qt.Key.Key_Right)
    assert window.state.head == 1
    qtbot.keyClick(grid.graphics, Qt.Key.Key_Down)
    assert window.state.layer == 1


@pytest.mark.parametrize("architecture, kind, side", [("encoder-only", "encoder", "source"),
                                                      ("decoder-only", "decoder", "target")])
def test_single_stack_models_fill_every_analysis_view(qtbot, architecture, kind, side):
    from tests.conftest import make_tiny_model
    from visualizer.state.app_state import AppState
    from visualizer.views.activation_view import ActivationView
    from visualizer.views.depth_plot_view import DepthPlotView
    from visualizer.views.head_grid_view import HeadGridView
    from visualizer.views.head_line_view import HeadLineView

    model = make_tiny_model(architecture)
    state = AppState()
    state.set_model(model)
    trace = model.run("the small cat sleeps")
    state.set_trace(trace)
    grid, lines, activations, depth = (HeadGridView(state), HeadLineView(state), ActivationView(state),
                                       DepthPlotView(state))
    for view in (grid, lines, activations, depth):
        qtbot.addWidget(view)
    grid.refresh()
    assert state.kind == kind
    np.testing.assert_array_equal(grid.thumbnail(1, 0), trace.attention[kind][1, 0])
    assert len(lines.visible_lines()) > 0 and lines.query_tokens == lines.key_tokens
    assert activations.hook == f"{kind}.0.resid_post" and activations.side == side
    np.testing.assert_array_equal(activations.image.image, trace.activations[activations.hook])
    assert depth.stack == kind and depth.series["resid"][1].shape[0] == len(
        trace.source_tokens or trace.target_tokens)
