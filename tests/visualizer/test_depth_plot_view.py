"""Depth plots: one line per token equal to the trace's norms, the hovered token on top."""

import numpy as np
import pytest

from tests.conftest import make_tiny_model
from tests.visualizer.shown_view import show_view
from visualizer.state.app_state import AppState
from visualizer.state.depth_series import MAX_COLORED_TOKENS, norm_statistic, residual_labels, residual_norms
from visualizer.views.depth_plot_view import DepthPlotView
from visualizer.views.token_axis import shorten


@pytest.fixture
def view_and_state(qtbot, tiny_run):
    return show_view(qtbot, tiny_run, DepthPlotView, (700, 700))


def _crowd_lines(item, tokens, points):
    """Split a NaN-separated crowd curve back into ``[tokens, points]``."""
    _, ys = item.getData()
    return ys.reshape(tokens, points + 1)[:, :points]


def _lines(view, key, tokens, points):
    """``[tokens, points]`` as drawn: one coloured curve per token, or the one crowd curve."""
    if view.colored:
        return np.stack([view.token_curves[key][i].getData()[1] for i in range(tokens)])
    return _crowd_lines(view.crowd[key], tokens, points)


def test_decoder_residual_norms_follow_every_residual_point(tiny_run):
    trace = tiny_run[1]
    labels, values = residual_norms(trace, "decoder")
    assert labels == ["0 pre", "0 mid", "0 cross", "0 post", "1 mid", "1 cross", "1 post"]
    expected = np.linalg.norm(trace.activations["decoder.1.resid_cross"], axis=-1)
    np.testing.assert_allclose(values[:, 5], expected, rtol=1e-5)


def test_norm_statistics_are_in_run_order(tiny_run):
    trace = tiny_run[1]
    labels, means = norm_statistic(trace, "decoder", "mean")
    assert labels == ["0 self", "0 cross", "0 ffn", "1 self", "1 cross", "1 ffn"]
    np.testing.assert_array_equal(means[:, 4], trace.activations["decoder.1.norm_cross.mean"])


def test_each_plot_draws_one_line_per_token_from_the_trace(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    assert view.stack == "encoder"  # follows the attention kind in the state
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    assert view.stack == "decoder"
    tokens = len(trace.target_tokens)
    for key, (labels, values) in view.series.items():
        np.testing.assert_array_equal(_lines(view, key, tokens, len(labels)), values)
    stds = _lines(view, "std", tokens, 6)
    np.testing.assert_array_equal(stds[:, 0], trace.activations["decoder.0.norm_self.std"])


def test_stack_follows_the_kind_and_keeps_the_users_choice(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    assert view.stack == "encoder"
    labels, values = view.series["resid"]
    assert values.shape == (len(trace.source_tokens), 5)
    assert labels == ["embed", "L0 attn", "L0 ffn", "L1 attn", "L1 ffn"]
    np.testing.assert_allclose(values[:, -1], np.linalg.norm(
        trace.activations["encoder.1.resid_post"], axis=-1), rtol=1e-5)
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    state.set_trace(trace)  # a new run keeps the stack the user picked
    assert view.stack == "decoder"


def test_a_token_hovered_anywhere_is_drawn_on_top(view_and_state, tiny_run):
    state, view = view_and_state
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    state.set_hover("target", 2)
    labels, values = view.series["resid"]
    xs, ys = view.highlight["resid"].getData()
    np.testing.assert_array_equal(ys, values[2])
    assert "chat" not in view.caption.text() and '"petit" #2' in view.caption.text()
    state.set_hover("source", 2)  # an encoder token is not on these decoder plots
    assert len(view.highlight["resid"].getData()[1] or []) == 0


def test_hovering_near_a_line_publishes_that_token(qtbot, view_and_state, tiny_run):
    state, view = view_and_state
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    labels, values = view.series["resid"]
    token = int(np.argmax(values[:, 3]))  # the top line at "L0 ffn" is unambiguous
    plot = view.plots["resid"]
    scene_point = plot.getViewBox().mapViewToScene(pg_point(3, values[token, 3]))
    with qtbot.waitSignal(state.hoverChanged, timeout=2000) as blocker:
        view.graphics.scene().sigMouseMoved.emit(scene_point)
    assert blocker.args == ["target", token]


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(float(x), float(y))


def test_rmsnorm_models_hide_the_mean_plot(qtbot):
    model = make_tiny_model(norm_type="rmsnorm", norm_bias=False)
    state = AppState()
    state.set_model(model)
    state.set_trace(model.run("the cat", "le chat"))
    view = DepthPlotView(state)
    qtbot.addWidget(view)
    assert "mean" not in view.series and "std" in view.series
    assert not view.plots["mean"].isVisible()


def test_depth_labels_thin_out_instead_of_overlapping(qtbot, view_and_state):
    state, view = view_and_state
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    assert view.shown_x_labels["resid"] == view.series["resid"][0]  # 700 px: room for all seven
    deep = make_tiny_model(n_encoder_layers=1, n_decoder_layers=10)
    state.set_model(deep)
    state.set_trace(deep.run("the cat", "le chat"))
    labels = view.series["resid"][0]
    shown = view.shown_x_labels["resid"]
    assert len(labels) == 1 + 10 * 3 and 2 <= len(shown) < len(labels)
    step = labels.index(shown[1])
    assert shown == labels[::step]  # evenly thinned, starting at the embedding output
    pixels_between = step * view.plots["resid"].getViewBox().width() / len(labels)
    assert pixels_between >= 6 * max(len(label) for label in labels)  # wider than a label


def test_pre_norm_models_end_with_the_final_norm(tiny_run):
    model = make_tiny_model(norm_placement="pre")
    labels, _ = norm_statistic(model.run("the cat", "le chat"), "decoder", "std")
    assert labels[-1] == "final" and labels[0] == "0 self"


def test_log_scale_applies_to_positive_series_only(view_and_state):
    state, view = view_and_state
    view.log_scale.setChecked(True)
    assert view.plots["resid"].getViewBox().state["logMode"][1]
    assert view.plots["std"].getViewBox().state["logMode"][1]
    assert not view.plots["mean"].getViewBox().state["logMode"][1]  # means can be negative
    view.log_scale.setChecked(False)
    assert not view.plots["resid"].getViewBox().state["logMode"][1]


def test_hovering_on_a_log_axis_still_finds_the_nearest_line(qtbot, view_and_state):
    state, view = view_and_state
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    view.log_scale.setChecked(True)
    view.graphics.grab()  # the axes re-range to log10 values when they next paint
    labels, values = view.series["std"]
    token = int(np.argmax(values[:, 0]))  # the top line: on a linear reading, the bottom one is nearer
    scene_point = view.plots["std"].getViewBox().mapViewToScene(pg_point(0, np.log10(values[token, 0])))
    view.graphics.scene().sigMouseMoved.emit(scene_point)
    assert state.hover == ("target", token)


def test_depth_points_have_readable_names_and_axes_have_units(view_and_state):
    state, view = view_and_state
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    assert view.series["resid"][0] == ["embed", "L0 attn", "L0 cross", "L0 ffn", "L1 attn", "L1 cross",
                                       "L1 ffn"]
    assert view.shown_x_labels["resid"][:2] == ["embed", "L0 attn"]
    assert view.series["std"][0] == ["L0 self", "L0 cross", "L0 ffn", "L1 self", "L1 cross", "L1 ffn"]
    titles = {key: (plot.getAxis("left").labelText, plot.getAxis("bottom").labelText)
              for key, plot in view.plots.items()}
    assert titles == {"resid": ("L2 norm", "depth (sublayer)"),
                      "mean": ("mean of the norm's input", "norm (in run order)"),
                      "std": ("std (divisor)", "norm (in run order)")}
    for plot in view.plots.values():  # plain numbers: never "mean (x0.001)"
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            assert not axis.autoSIPrefix and "(x" not in axis.labelString()


def test_a_parallel_block_has_no_point_between_attention_and_ffn():
    assert residual_labels(["0 pre", "0 post", "1 post"]) == ["embed", "L0 attn+ffn", "L1 attn+ffn"]


def test_few_tokens_get_a_colour_and_a_legend_entry_each(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    view.stack_selector.setCurrentIndex(view.stack_selector.findData("decoder"))
    tokens = trace.target_tokens
    assert len(tokens) <= MAX_COLORED_TOKENS and view.colored
    colors = [view.token_curves["resid"][i].opts["pen"].color().name() for i in range(len(tokens))]
    assert len(set(colors)) == len(tokens)  # distinct colours
    assert view.crowd["resid"].getData()[0] is None or len(view.crowd["resid"].getData()[0]) == 0
    assert view.legend.isVisible()
    assert view.legend_names() == [f"{shorten(t)} ({i})" for i, t in enumerate(tokens)]
    for key in ("mean", "std"):  # a token keeps its colour in every plot
        assert view.token_curves[key][2].opts["pen"].color().name() == colors[2]
    state.set_hover("target", 2)  # the hovered token is still drawn on top
    np.testing.assert_array_equal(view.highlight["resid"].getData()[1], view.series["resid"][1][2])


def test_long_inputs_stay_one_faded_curve_per_plot(qtbot, tiny_run):
    model = tiny_run[0]
    trace = model.run(("the small cat sees the red house . " * 70).strip(), "le chat")
    assert len(trace.source_tokens) >= 512
    state = AppState()
    state.set_model(model)
    state.set_trace(trace)
    view = DepthPlotView(state)
    qtbot.addWidget(view)
    assert view.stack == "encoder" and not view.colored
    labels, values = view.series["resid"]
    np.testing.assert_array_equal(_crowd_lines(view.crowd["resid"], len(trace.source_tokens), len(labels)),
                                  values)
    drawn = [item for item in view.plots["resid"].listDataItems() if item.getData()[0] is not None
             and len(item.getData()[0])]
    assert drawn == [view.crowd["resid"]]  # one item for 500+ lines
    assert not view.legend.isVisible() and view.legend_names() == []
