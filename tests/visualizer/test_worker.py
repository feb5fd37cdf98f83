"""Runs and loads never block the GUI, and only the latest request's result is shown."""

import threading

import pytest
from PySide6.QtCore import QThreadPool

from tests.conftest import make_tiny_model
from visualizer import MainWindow
from visualizer.run_controller import RunController
from visualizer.state.app_state import AppState
from visualizer.worker import Task, TaskSignals, busy_pools

TIMEOUT = 60_000


@pytest.fixture
def controller(qtbot):
    state = AppState()
    ctrl = RunController(state)
    yield ctrl
    ctrl.shutdown()


def test_two_quick_runs_show_only_the_last(controller, qtbot):
    controller.state.set_model(make_tiny_model())
    shown = []
    controller.state.traceChanged.connect(lambda t: t is not None and shown.append(t))
    controller.state.set_inputs("the cat sleeps")
    controller.run()
    controller.state.set_inputs("the dog runs")
    controller.run()
    qtbot.waitUntil(lambda: not controller.busy, timeout=TIMEOUT)
    assert [t.source_tokens[:3] for t in shown] == [["the", "dog", "runs"]]
    assert controller.state.trace is shown[0]


def test_a_run_during_a_load_runs_on_the_new_model(controller, qtbot, tiny_checkpoint):
    controller.state.set_model(make_tiny_model(seed=5))
    controller.state.model.name = "old model"
    shown = []
    controller.state.traceChanged.connect(lambda t: t is not None and shown.append(t))
    controller.load(tiny_checkpoint)
    controller.state.set_inputs("the red house")
    controller.run()  # typed while the load is still going
    qtbot.waitUntil(lambda: controller.state.model.name != "old model", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not controller.busy, timeout=TIMEOUT)
    assert [t.model_name for t in shown] == ["tiny encoder-decoder"]
    assert shown[0].source_tokens[:3] == ["the", "red", "house"]


def test_a_failing_run_reports_its_message(controller, qtbot):
    controller.state.set_model(make_tiny_model(positions="learned", max_positions=4))
    controller.state.set_inputs("the small cat sees the red house")
    with qtbot.waitSignal(controller.runFailed, timeout=TIMEOUT) as blocker:
        controller.run()
    assert "accepts at most 4" in blocker.args[0]
    assert controller.state.trace is None


def test_the_gui_thread_stays_free_while_the_model_runs(controller, qtbot):
    release = threading.Event()
    model = make_tiny_model()
    original_run = model.run

    def slow_run(*args, **kwargs):
        release.wait(10)
        return original_run(*args, **kwargs)

    model.run = slow_run
    controller.state.set_model(model)
    controller.state.set_inputs("the cat")
    controller.run()
    assert controller.busy  # returned at once, the work is on the pool thread
    assert busy_pools()
    release.set()
    with qtbot.waitSignal(controller.state.traceChanged, timeout=TIMEOUT):
        pass
    assert not controller.busy


def test_a_stale_task_is_skipped_without_running(qtbot):
    signals = TaskSignals()
    calls = []
    pool = QThreadPool()
    with qtbot.waitSignal(signals.skipped, timeout=5000) as blocker:
        pool.start(Task(7, lambda: calls.append(1), signals, lambda rid: False))
    pool.waitForDone()
    assert blocker.args == [7] and calls == []


def test_a_task_exception_comes_back_as_a_signal(qtbot):
    signals = TaskSignals()
    pool = QThreadPool()

    def boom():
        raise RuntimeError("kaput")

    with qtbot.waitSignal(signals.failed, timeout=5000) as blocker:
        pool.start(Task(3, boom, signals, lambda rid: True))
    pool.waitForDone()
    rid, error = blocker.args
    assert rid == 3 and isinstance(error, RuntimeError) and "kaput" in error.formatted_traceback


def test_closing_the_window_waits_for_running_work(qtbot, tiny_checkpoint):
    window = MainWindow(checkpoint=tiny_checkpoint)
    qtbot.addWidget(window)
    window.show()
    assert window.busy_bar.isVisible()  # the user sees at once that the model is coming
    assert "Loading tiny.safetensors" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.controller.busy, timeout=5000)  # the load starts after show
    window.close()  # must not return while a pool thread still runs
    assert not busy_pools()


def test_a_window_closed_before_its_startup_load_never_starts_it(qtbot, tiny_checkpoint):
    window = MainWindow(checkpoint=tiny_checkpoint)
    qtbot.addWidget(window)
    window.close()
    qtbot.wait(300)  # past the startup delay
    assert not window.controller.busy and window.state.model is None
