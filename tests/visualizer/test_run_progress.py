"""A run in the window shows its layers done and can be cancelled; a new run stops the one in
flight, and only the newest trace is shown."""

import pytest

from tests.conftest import make_tiny_model
from tests.visualizer.conftest import PAIR
from visualizer.run_controller import RunController
from visualizer.run_watch import RunWatch
from visualizer.state.app_state import AppState
from visualizer.widgets.run_progress_row import CANCELLED_TEXT

TIMEOUT = 30_000


@pytest.fixture
def controller(qtbot):
    state = AppState()
    state.set_model(make_tiny_model())
    ctrl = RunController(state)
    yield ctrl
    ctrl.shutdown()


@pytest.fixture
def held_first_run(monkeypatch):
    """The first run made after this waits, after reporting its first layer, until it is stopped
    (at most 10 s): a tiny model would otherwise finish before the GUI hears of it."""
    first: list[RunWatch] = []
    original = RunWatch.progress

    def progress(watch, done, total):
        if not first:  # before the GUI hears of it: its handler may start the next run at once
            first.append(watch)
        original(watch, done, total)
        if watch is first[0]:
            watch._stop.wait(10)

    monkeypatch.setattr(RunWatch, "progress", progress)
    return first


def test_progress_counts_every_layer_up_to_the_total(controller, qtbot):
    steps = []
    controller.runProgress.connect(lambda done, total: steps.append((done, total)))
    controller.state.set_inputs(*PAIR)
    with qtbot.waitSignal(controller.state.traceChanged, timeout=TIMEOUT):
        controller.run()
    layers = controller.state.model.config.n_encoder_layers + controller.state.model.config.n_decoder_layers
    assert steps == [(done, layers) for done in range(1, layers + 1)]  # given target: one pass


def test_cancel_keeps_the_previous_trace_and_leaves_no_thread(traced_window, qtbot, held_first_run):
    win = traced_window
    before = win.state.trace
    row = win.run_progress
    seen = []

    def on_progress(done, total):
        seen.append((row.bar.isVisibleTo(win), row.bar.text(), row.cancel_button.isVisibleTo(win)))
        row.cancel_button.click()

    win.controller.runProgress.connect(on_progress)
    shown = []
    win.traceChanged.connect(shown.append)
    with qtbot.waitSignal(win.controller.runCancelled, timeout=TIMEOUT):
        win.run("the red house sees a small cat .", PAIR[1])
    assert win.controller.wait(TIMEOUT) and not win.controller.busy
    qtbot.wait(10)  # queued signals of the stopped run, if any
    layers = win.state.model.config.n_encoder_layers + win.state.model.config.n_decoder_layers
    assert seen == [(True, f"layer 1 of {layers}", True)]
    assert shown == [] and win.state.trace is before  # the previous run stays on screen
    assert row.cancelled_label.isVisibleTo(win) and row.cancelled_label.text() == CANCELLED_TEXT
    assert not row.bar.isVisibleTo(win) and not row.cancel_button.isVisibleTo(win)
    assert win.statusBar().currentMessage() == "Run cancelled"
    assert not win.input_panel.error_label.isVisibleTo(win)  # a cancel is no error


def test_a_second_run_stops_the_first_and_shows_its_own_trace(controller, qtbot, held_first_run):
    state = controller.state
    shown, cancelled = [], []
    state.traceChanged.connect(lambda trace: trace is not None and shown.append(trace))
    controller.runCancelled.connect(lambda: cancelled.append(True))

    def second_run(_done, _total):
        if len(held_first_run) == 1 and not held_first_run[0].stopped:
            state.set_inputs("the dog runs", "le chien court")
            controller.run()  # while the first waits in its first layer

    controller.runProgress.connect(second_run)
    state.set_inputs(*PAIR)
    first_id = controller.run()
    qtbot.waitUntil(lambda: bool(shown), timeout=TIMEOUT)
    assert controller.wait(TIMEOUT)
    qtbot.wait(10)
    assert held_first_run[0].stopped and controller._latest["run"] > first_id
    assert [trace.source_tokens[:3] for trace in shown] == [["the", "dog", "runs"]]
    assert state.trace is shown[0] and cancelled == []  # the stale run ends silently
    assert not controller.busy and not controller.running
