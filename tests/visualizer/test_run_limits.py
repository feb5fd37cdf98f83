"""A run beyond the memory guard's budget is refused in the window: the reason in red beside the
inputs, the previous trace kept on screen, and the window usable for the next run. The window's
models record lean when the whole trace would not fit, so only a run whose working memory
outgrows the budget is refused; one between the two runs lean and says so."""

import numpy as np

from tests.visualizer.conftest import PAIR
from visualizer.widgets.input_panel import ERROR_STYLE

TIMEOUT = 60_000


def test_a_run_over_the_budget_names_estimate_and_limit_and_keeps_the_trace(traced_window, qtbot):
    from engine.memory_guard import estimate_run, format_bytes

    win = traced_window
    before = win.state.trace
    model = win.state.model
    long_text = " ".join(["the small cat sees a red house ."] * 20)
    source = len(model.tokenizer.encode(long_text).ids)
    target = len(before.target_tokens)
    estimate = estimate_run(model.module, source, target).working_bytes  # lean: what it holds
    model.memory_budget = 50_000
    with qtbot.waitSignal(win.errorOccurred, timeout=TIMEOUT) as blocker:
        win.run(long_text, PAIR[1])
    win.controller.wait(TIMEOUT)
    expected = (f"this input would need {format_bytes(estimate)} ({source} source + {target} target "
                "tokens); the limit is 50.0 kB: shorten it")
    assert expected in blocker.args[0]
    assert win.state.trace is before  # the views still show the run that fitted
    label = win.input_panel.error_label
    assert label.isVisibleTo(win.input_panel)
    assert expected in label.text() and "previous run" in label.text()
    assert label.styleSheet() == ERROR_STYLE  # the red of every refused run
    model.memory_budget = None
    with qtbot.waitSignal(win.traceChanged, timeout=TIMEOUT):
        win.run(long_text, PAIR[1])
    assert len(win.state.trace.source_tokens) == source
    assert not label.isVisibleTo(win.input_panel)


def test_a_run_too_large_to_record_whole_runs_lean_and_says_so(traced_window, qtbot):
    from engine.memory_guard import estimate_run
    from visualizer.state.lean_traces import LEAN_TEXT, is_lean

    win = traced_window
    full = win.state.trace
    model = win.state.model
    sizes = estimate_run(model.module, len(full.source_tokens), len(full.target_tokens))
    model.memory_budget = (sizes.working_bytes + sizes.trace_bytes) // 2
    try:
        with qtbot.waitSignal(win.traceChanged, timeout=TIMEOUT):
            win.run(*PAIR)
    finally:
        model.memory_budget = None
    lean = win.state.trace
    assert is_lean(lean) and not is_lean(full)
    assert LEAN_TEXT in win.timing_label.text()
    assert not win.input_panel.error_label.isVisibleTo(win.input_panel)
    for kind in model.kinds:  # the same numbers, recomputed
        np.testing.assert_array_equal(np.asarray(lean.attention[kind]), full.attention[kind])
