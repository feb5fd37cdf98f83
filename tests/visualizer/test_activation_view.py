"""The activation view shows exactly the recorded hook, and shares the hovered token."""

import numpy as np
import pytest

from tests.visualizer.shown_view import show_view
from visualizer.state.activation_hooks import split_hook, token_side
from visualizer.state.app_state import AppState
from visualizer.views.activation_view import ActivationView


@pytest.fixture
def view_and_state(qtbot, tiny_run):
    return show_view(qtbot, tiny_run, ActivationView, (800, 500))


def _pick(box, data):
    index = box.findData(data)
    assert index >= 0, f"{data!r} not offered"
    box.setCurrentIndex(index)


def test_a_trace_opens_on_a_residual_stream(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    assert view.hook == "encoder.0.resid_post"
    np.testing.assert_array_equal(view.image.image, trace.activations["encoder.0.resid_post"])
    assert view.row_tokens == trace.source_tokens


def test_picking_stack_layer_and_point_shows_that_hook(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    _pick(view.stack_selector, "decoder")
    _pick(view.layer_selector, 1)
    _pick(view.point_selector, "norm_cross.normalized")
    assert state.hook == "decoder.1.norm_cross.normalized"
    np.testing.assert_array_equal(view.image.image, trace.activations[state.hook])
    assert view.row_tokens == trace.target_tokens
    _pick(view.point_selector, "ffn.hidden")
    assert view.image.image.shape == (len(trace.target_tokens), 64)


def test_every_point_of_a_layer_is_offered(view_and_state):
    state, view = view_and_state
    _pick(view.stack_selector, "decoder")
    _pick(view.layer_selector, 0)
    offered = {view.point_selector.itemData(i) for i in range(view.point_selector.count())}
    expected = {"resid_pre", "resid_mid", "resid_cross", "resid_post", "ffn.hidden"}
    for norm in ("norm_self", "norm_cross", "norm_ffn"):
        expected |= {f"{norm}.input", f"{norm}.normalized", f"{norm}.output"}
    for attn in ("self_attn", "cross_attn"):
        expected |= {f"{attn}.{x}" for x in "qkvz"}
    assert expected <= offered
    assert not any(p.endswith((".scores", ".mean", ".std")) for p in offered)


def test_per_head_hooks_show_one_head_or_all_side_by_side(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    state.set_selection(hook="encoder.1.self_attn.v")
    values = trace.activations["encoder.1.self_attn.v"]  # [heads, pos, d_head]
    assert view.head_selector.isEnabled()
    np.testing.assert_array_equal(view.image.image, np.concatenate(list(values), axis=1))
    _pick(view.head_selector, 2)
    np.testing.assert_array_equal(view.image.image, values[2])
    assert state.hook == "encoder.1.self_attn.v"


def test_cross_attention_keys_are_rows_of_source_tokens(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    state.set_selection(hook="decoder.0.cross_attn.k")
    assert view.image.image.shape[0] == len(trace.source_tokens)
    assert view.row_tokens == trace.source_tokens and view.side == "source"


def test_colors_are_centred_on_zero(view_and_state):
    state, view = view_and_state
    state.set_selection(hook="decoder.1.resid_mid")
    low, high = view.image.levels
    assert low == pytest.approx(-high)
    assert high == pytest.approx(np.abs(view.matrix).max())
    view.clip_outliers.setChecked(True)
    assert view.image.levels[1] == pytest.approx(np.percentile(np.abs(view.matrix), 99))


def test_hover_from_another_pane_outlines_the_token_row(view_and_state):
    state, view = view_and_state
    state.set_selection(hook="encoder.0.resid_pre")
    state.set_hover("source", 3)
    assert view.hover_marks.row_band.isVisible()
    assert view.hover_marks.row_band.rect().top() == 3 and view.hover_marks.row_band.rect().height() == 1
    state.set_hover("target", 3)  # a decoder position is not one of these rows
    assert not view.hover_marks.row_band.isVisible()


def test_hovering_a_row_publishes_the_token(qtbot, view_and_state):
    state, view = view_and_state
    state.set_selection(hook="decoder.0.resid_post")
    scene_point = view.image.mapToScene(2.5, 4.5)  # column 2, row 4
    with qtbot.waitSignal(state.hoverChanged, timeout=2000) as blocker:
        view.graphics.scene().sigMouseMoved.emit(scene_point)
    assert blocker.args == ["target", 4]
    assert "feature 2" in view.graphics.toolTip()


def test_hook_names_round_trip():
    assert split_hook("encoder.1.norm_ffn.input") == ("encoder", 1, "norm_ffn.input")
    assert split_hook("decoder.final_norm.output")[0::2] == ("decoder", "final_norm.output")
    assert token_side("decoder.1.cross_attn.v") == "source"
    assert token_side("decoder.1.cross_attn.q") == "target"


def test_no_trace_shows_nothing(qtbot, tiny_run):
    state = AppState()
    state.set_model(tiny_run[0])
    view = ActivationView(state)
    qtbot.addWidget(view)
    assert view.matrix is None and view.image.image is None


def test_long_inputs_thin_the_token_labels_instead_of_overlapping(qtbot, tiny_run):
    model = tiny_run[0]
    words = "the small cat sees the big red house and the dog runs".split()
    trace = model.run(" ".join(words * 10), "le chat")  # 121 source tokens
    state = AppState()
    state.set_model(model)
    state.set_trace(trace)
    view = ActivationView(state)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    view.graphics.grab()  # the axis picks its labels when it paints
    shown = view.token_axis.shown_indices
    rows_per_pixel = len(trace.source_tokens) / view.plot.getViewBox().height()
    assert 2 <= len(shown) < len(trace.source_tokens)
    assert (shown[1] - shown[0]) / rows_per_pixel >= 14  # a line of text apart
    assert view.token_axis.tokens() == trace.source_tokens


def test_a_hook_that_is_not_a_heatmap_keeps_the_view_on_a_real_one(view_and_state, tiny_run):
    state, view = view_and_state
    trace = tiny_run[1]
    state.set_selection(hook="decoder.1.ffn.hidden")
    state.set_selection(hook="decoder.1.norm_ffn.std")  # one number per token: a depth-plot series
    assert view.hook == "encoder.0.resid_post" and view.matrix.ndim == 2
    np.testing.assert_array_equal(view.image.image, trace.activations["encoder.0.resid_post"])
