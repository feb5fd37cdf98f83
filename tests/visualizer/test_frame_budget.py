"""What keeps interactions within a frame at 2,048 tokens, checked at small sizes: the mean of
heads is computed once per layer and trace, panes behind another tab catch up when shown, and
the hover readout never re-lays-out the window."""

import numpy as np

from visualizer.state.view_state import ViewState


def test_the_mean_of_heads_is_kept_per_layer_and_trace_and_equals_the_engines(tiny_run):
    model, trace = tiny_run
    state = ViewState()
    state.set_model(model)
    state.set_trace(trace)
    mean = state.attention_matrix("decoder", 1, "mean")
    assert state.attention_matrix("decoder", 1, "mean") is mean  # every pane shares one array
    np.testing.assert_array_equal(mean, trace.matrix("decoder", 1, "mean"))  # bit for bit
    assert not mean.flags.writeable
    assert state.attention_matrix("decoder", 0, "mean") is not mean
    np.testing.assert_array_equal(state.attention_matrix("decoder", 1, "max"),
                                  trace.attention["decoder"][1].max(axis=0))
    rerun = model.run("the small cat sleeps", "le petit chat dort")
    state.set_trace(rerun)
    assert state.attention_matrix("decoder", 1, "mean") is not mean  # a new run: computed anew
    assert state.attention_matrix("decoder", 9, "mean") is None  # out of range: nothing, no error


def test_a_pane_behind_another_tab_shows_the_latest_selection_and_hover_when_it_comes_forward(
        traced_window, qtbot):
    window, state = traced_window, traced_window.state
    lines = window.head_line_view
    window.show_pane("attention")
    state.set_selection(kind="decoder", layer=1, head=2)
    state.set_hover("target", 2)
    window.show_pane("head-lines")
    np.testing.assert_array_equal(lines.matrices[2], state.trace.attention["decoder"][1, 2])
    assert lines.isolated == ("query", 2)
    window.show_pane("attention")  # the heatmap, drawn while in front, shows the same head
    np.testing.assert_array_equal(window.attention_view.image_item.image,
                                  state.trace.attention["decoder"][1, 2])


def test_a_long_hover_readout_neither_widens_nor_re_lays_out_the_window(traced_window, qapp):
    window = traced_window
    qapp.processEvents()
    sizes, minimum = window.splitter.sizes(), window.attention_view.minimumSizeHint().width()
    window.attention_view.readout.setText("“the” #0 → “cat” #1: 0.5 " * 60)  # far wider than the pane
    window.input_panel.hover_predictions.setText("after “cat” #1: “sees” 40.1%, “runs” 20.0%")
    qapp.processEvents()
    assert window.splitter.sizes() == sizes
    assert window.attention_view.minimumSizeHint().width() == minimum  # was the text's width
