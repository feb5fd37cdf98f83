"""File → Save session / Open session: a fresh window shows the same view; a missing checkpoint or a
bad file is said, and what can still apply does."""

import json

import numpy as np
import pytest

from tests.conftest import make_tiny_model
from tests.visualizer.conftest import PAIR
from tests.visualizer.window_once import close, traced_hidden_window, wait_idle
from visualizer.state.view_state import OPTIONS

TIMEOUT = 60_000
SHOWN = ("source_text", "target_text", "kind", "layer", "head", "hook", "front_pane", "ablated", *OPTIONS)


def settled(window, inputs, ablated):
    state = window.state
    return (state.trace is not None and state.trace_inputs == inputs and set(state.trace.ablated) == ablated
            and not window.controller.busy and not window.compare_controller.busy())


@pytest.fixture(scope="module")
def saved(qapp, tiny_checkpoint, tmp_path_factory):
    """A window on a changed view (selection, options, tab, an ablated head, a run B), saved; with
    what it showed then: every field of SHOWN, the trace and run B's input."""
    window = traced_hidden_window(qapp, tiny_checkpoint, *PAIR)
    window.show_dialogs = False  # messages still reach errorOccurred; no box outlives a test
    window.state.set_selection(kind="cross", layer=1, head=2, hook="decoder.0.resid_mid")
    window.state.set_option(colormap="magma", auto_levels=True, top_k=4,
                            compare_source="the big dog sees a red house .")
    window.show_pane("all-heads")
    window.state.toggle_ablation("encoder", 0, 1)
    wait_idle(qapp, window, lambda: settled(window, PAIR, {("encoder", 0, 1)}))
    path = window.sessions.save(tmp_path_factory.mktemp("session") / "session.json")
    shown = {name: getattr(window.state, name) for name in SHOWN}
    yield window, path, shown, window.state.trace, window.state.second_run.source
    close(qapp, window)


def test_a_session_opens_in_a_fresh_window_as_the_same_view(saved, qtbot, tmp_path, tiny_checkpoint):
    from visualizer import MainWindow

    _window, path, shown, trace, source_b = saved
    other = tmp_path / "other.safetensors"
    make_tiny_model(seed=5).save(other)  # the fresh window opens another model first
    after = MainWindow(checkpoint=other)
    qtbot.addWidget(after)
    with qtbot.waitSignal(after.traceChanged, timeout=TIMEOUT):
        after.show()
    assert after.sessions.open(path)
    qtbot.waitUntil(lambda: after.sessions.checkpoint == str(tiny_checkpoint)
                    and settled(after, PAIR, {("encoder", 0, 1)}), timeout=TIMEOUT)
    for name in SHOWN:
        assert getattr(after.state, name) == shown[name], name
    assert after.view_tabs.currentWidget().objectName() == "headGridPane"
    assert after.input_panel.source_input.text() == PAIR[0]
    for kind, weights in trace.attention.items():
        np.testing.assert_array_equal(after.state.trace.attention[kind], weights, err_msg=kind)
    np.testing.assert_array_equal(after.state.trace.logits, trace.logits)
    qtbot.waitUntil(lambda: getattr(after.state.second_run, "trace", None) is not None, timeout=TIMEOUT)
    assert after.state.second_run.source == source_b
    after.close()


def test_a_missing_checkpoint_is_said_and_the_inputs_still_apply(saved, qtbot, qapp, tmp_path):
    window, saved_path = saved[:2]
    data = json.loads(saved_path.read_text(encoding="utf-8"))
    path = tmp_path / "moved.json"
    data["checkpoint"] = str(tmp_path / "gone.safetensors")
    data["inputs"] = {"source": "the dog runs", "target": ""}
    data["options"]["colormap"] = "cividis"
    path.write_text(json.dumps(data), encoding="utf-8")
    model = window.state.model
    with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as error:
        assert window.sessions.open(path)
    assert "gone.safetensors is not there any more" in error.args[0]
    assert "applied to the open model" in error.args[0]
    qtbot.waitUntil(lambda: settled(window, ("the dog runs", ""), {("encoder", 0, 1)}), timeout=TIMEOUT)
    assert window.state.model is model and window.state.colormap == "cividis"
    assert window.state.trace.source_tokens[:3] == ["the", "dog", "runs"]
    wait_idle(qapp, window)


def test_a_bad_session_file_changes_nothing(saved, qtbot, tmp_path):
    window, path = saved[0], tmp_path / "bad.json"
    path.write_text('{"format": "transformer-inspector-session", "version": 2}', encoding="utf-8")
    trace, options = window.state.trace, {name: getattr(window.state, name) for name in OPTIONS}
    with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as error:
        assert not window.sessions.open(path)
    assert "unknown session version 2" in error.args[0]
    assert window.state.trace is trace
    assert {name: getattr(window.state, name) for name in OPTIONS} == options
