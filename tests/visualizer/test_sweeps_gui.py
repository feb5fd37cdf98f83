"""Ablation effects, keep-only, head importance and patching in the window: numbers and threads."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine.ablation_effects import ablation_effects
from engine.head_importance import head_importance
from engine.patching import patching
from tests.visualizer.conftest import PAIR
from visualizer.state.sweeps import HEAD_IMPORTANCE, PATCHING, stored_result

TIMEOUT = 60_000
SOURCE, TARGET = PAIR
CORRUPTED = "the small dog sees a red house ."  # as many tokens as SOURCE


@pytest.fixture(scope="module")
def shared_window(qapp, tiny_checkpoint):
    """One window for the module (a window with a loaded model costs ~2 s here)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from visualizer import MainWindow

    def until_idle(win):
        loop = QEventLoop()
        win.controller.busyChanged.connect(lambda busy, _text: busy or loop.quit())
        QTimer.singleShot(TIMEOUT, loop.quit)
        loop.exec()

    win = MainWindow(checkpoint=tiny_checkpoint)
    win.load_checkpoint(tiny_checkpoint)  # the startup load, without waiting for a first paint
    until_idle(win)
    win.run(SOURCE, TARGET)
    until_idle(win)
    assert win.state.trace_inputs == PAIR
    yield win
    win.close()
    win.deleteLater()
    qapp.processEvents()


@pytest.fixture
def traced_window(shared_window, qtbot):
    """The shared window, shown, on the attention pane with nothing ablated; hidden afterwards."""
    window = shared_window
    window.show_pane("attention")
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.state.clear_ablation()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    for name in (HEAD_IMPORTANCE, PATCHING):
        window.views[name].controller.shutdown()
    window.attention_view.ablation_effects.controller.shutdown()
    window.state.core.__dict__.get("sweeps", {}).clear()  # each test starts with no sweep run
    for name in (HEAD_IMPORTANCE, PATCHING):
        window.views[name].redraw()
    window.hide()


def cross_heads(layers=(0, 1)):
    return {("cross", layer, head) for layer in layers for head in range(4)}


def click_cell(qtbot, matrix_map, row, col):
    """A left click at the centre of a cell of a MatrixMap."""
    scene = matrix_map.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))
    point = matrix_map.graphics.mapFromScene(scene)
    qtbot.mouseClick(matrix_map.graphics.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_keep_only_ablates_exactly_the_other_heads_of_the_kind(traced_window, qtbot):
    window, state = traced_window, traced_window.state
    bar = window.selection_bar.ablation_bar
    state.toggle_ablation("encoder", 0, 1)  # another kind's ablation stays as it is
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    state.set_selection(kind="cross", layer=1, head=2)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        bar.keep_head_action.trigger()
    expected = (cross_heads() - {("cross", 1, 2)}) | {("encoder", 0, 1)}
    assert state.ablated == expected and set(blocker.args[0].ablated) == expected
    assert len(expected) == 8
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        bar.keep_layer_action.trigger()
    assert set(blocker.args[0].ablated) == cross_heads([0]) | {("encoder", 0, 1)}
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        bar.swap_action.trigger()
    assert set(blocker.args[0].ablated) == cross_heads([1]) | {("encoder", 0, 1)}
    z = blocker.args[0].activations["decoder.1.cross_attn.z"]
    assert np.all(z == 0.0) and np.any(blocker.args[0].activations["decoder.0.cross_attn.z"] != 0)


def test_the_effects_under_the_heatmap_are_the_engines_and_export(traced_window, qtbot, tmp_path):
    window, state = traced_window, traced_window.state
    view = window.attention_view.ablation_effects
    assert view.isHidden()  # nothing ablated: nothing to say
    heads = [("cross", 0, 1), ("cross", 1, 3)]
    for head in heads:
        state.toggle_ablation(*head)
    qtbot.waitUntil(lambda: view.effects is not None and set(view.effects.ablated) == set(heads),
                    timeout=TIMEOUT)
    assert view.isVisible()
    expected = ablation_effects(state.model, SOURCE, heads, TARGET)
    np.testing.assert_array_equal(view.effects.kl, expected.kl)
    bars = [item for item in view.delta_plot.items if type(item).__name__ == "BarGraphItem"]
    assert len(bars) == 1
    np.testing.assert_allclose(bars[0].opts["height"], expected.delta_prob, rtol=1e-6)
    assert expected.kl.max() > 1e-3
    assert "Before:" in view.outputs.text() and "After:" in view.outputs.text()
    written = view.export(tmp_path / "effects.npz")
    with np.load(written, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["delta_prob"], expected.delta_prob)
        np.testing.assert_array_equal(data["kl"], expected.kl)
        assert data["tokens"].tolist() == expected.tokens
    csv = view.export(tmp_path / "effects.csv").read_text().splitlines()
    assert csv[0] == "position \\ value,p_before,p_after,delta_prob,kl"
    assert len(csv) == 1 + len(expected.tokens)
    state.clear_ablation()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    assert view.isHidden()


def test_the_head_importance_map_is_the_engines_and_a_click_opens_the_head(traced_window, qtbot):
    window, state = traced_window, traced_window.state
    state.set_selection(kind="cross")
    window.show_pane(HEAD_IMPORTANCE)  # shown on an input it has not seen: the sweep starts
    view = window.views[HEAD_IMPORTANCE]
    qtbot.waitUntil(lambda: stored_result(state, HEAD_IMPORTANCE) is not None, timeout=TIMEOUT)
    expected = head_importance(state.model, SOURCE, "cross", TARGET)
    np.testing.assert_array_equal(view.map.image_item.image, expected.kl)
    assert view.map.image_item.image.dtype == np.float32
    layer, head = np.unravel_index(expected.kl.argmax(), expected.kl.shape)
    assert view.ranking.text().startswith(f"Most important: cross L{layer} H{head}")
    view.metric_selector.setCurrentIndex(view.metric_selector.findData("argmax_changed"))
    np.testing.assert_array_equal(view.map.image_item.image, expected.argmax_changed)
    click_cell(qtbot, view.map, 1, 2)
    assert (state.kind, state.layer, state.head) == ("cross", 1, 2)
    assert state.front_pane == "attention"


@pytest.fixture
def slow_sweeps(monkeypatch):
    """One head per batch, 0.05 s each: long enough to cancel in the middle."""
    import time

    import engine.head_importance as module

    calls = []
    original = module.log_probs

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.05)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "log_probs", slow)
    monkeypatch.setattr(module, "batch_size", lambda *_: 1)
    return calls


def test_cancelling_a_sweep_stops_its_thread_and_keeps_no_result(traced_window, qtbot, slow_sweeps):
    window, state = traced_window, traced_window.state
    view = window.views[HEAD_IMPORTANCE]
    bar = view.sweep_bar
    window.show_pane(HEAD_IMPORTANCE)  # starts the sweep
    qtbot.waitUntil(lambda: bar.progress.value() >= 1, timeout=TIMEOUT)
    assert bar.progress.isVisible() and bar.cancel_button.isVisible() and not bar.run_button.isEnabled()
    assert bar.progress.maximum() == 24  # 2 layers × 4 heads of each of the three kinds
    qtbot.mouseClick(bar.cancel_button, Qt.MouseButton.LeftButton)
    assert not bar.progress.isVisible() and bar.run_button.isEnabled()
    assert bar.status.text().startswith("Cancelled")
    qtbot.waitUntil(lambda: view.controller._pool.activeThreadCount() == 0, timeout=5_000)
    assert len(slow_sweeps) < 6  # it stopped at the next batch, not after all 24
    qtbot.wait(50)  # a late result, if any, would land now: it must be dropped
    assert stored_result(state, HEAD_IMPORTANCE) is None and view.map.matrix is None


def test_patching_from_the_pane_equals_the_engine_and_names_unequal_lengths(traced_window, qtbot, tmp_path):
    window, state = traced_window, traced_window.state
    window.show_pane(PATCHING)
    view = window.views[PATCHING]
    assert view.clean_input.placeholderText().startswith(SOURCE)  # empty: the source box's text
    view.corrupted_input.setText("the red dog")
    view.corrupted_input.textEdited.emit("the red dog")
    qtbot.mouseClick(view.sweep_bar.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "same number of tokens" in view.sweep_bar.status.text(), timeout=TIMEOUT)
    assert "corrupted has 4 (the | red | dog | </s>)" in view.sweep_bar.status.text()
    view.corrupted_input.setText(CORRUPTED)
    view.corrupted_input.textEdited.emit(CORRUPTED)
    state.set_selection(kind="encoder")
    qtbot.mouseClick(view.sweep_bar.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: stored_result(state, PATCHING) is not None, timeout=TIMEOUT)
    expected = patching(state.model, SOURCE, CORRUPTED, TARGET)
    np.testing.assert_array_equal(view.residual_map.image_item.image, expected.effect)
    np.testing.assert_array_equal(view.head_map.image_item.image, expected.head_effect["encoder"])
    assert view.residual_map.columns[2] == "cat→dog"
    click_cell(qtbot, view.head_map, 0, 3)
    assert (state.kind, state.layer, state.head, state.front_pane) == ("encoder", 0, 3, "attention")
    # Another corrupted text: the maps and the export never show the previous pair's numbers.
    window.show_pane(PATCHING)
    view.corrupted_input.setText("the small cat sees a big house .")
    view.corrupted_input.textEdited.emit(view.corrupted_input.text())
    assert view.residual_map.matrix is None and view.head_map.matrix is None
    with pytest.raises(ValueError, match="has not run for this input"):
        window.export_front_pane(tmp_path / "patching.npz")


def test_a_sweep_on_another_input_replaces_the_one_running(traced_window, qtbot, slow_sweeps):
    """Only the latest request's result lands; the one it replaced stops at its next batch."""
    window, state = traced_window, traced_window.state
    window.show_pane(HEAD_IMPORTANCE)
    qtbot.waitUntil(lambda: len(slow_sweeps) >= 1, timeout=TIMEOUT)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.run("the dog runs", "le chien court")  # the pane is in front: a new sweep starts
    qtbot.waitUntil(lambda: stored_result(state, HEAD_IMPORTANCE) is not None, timeout=TIMEOUT)
    assert len(slow_sweeps) < 24 + 6  # the first sweep stopped early, the second ran all 24
    result = stored_result(state, HEAD_IMPORTANCE)
    assert result["cross"].source_tokens == ["the", "dog", "runs", "</s>"]
    expected = head_importance(state.model, "the dog runs", "cross", "le chien court")
    np.testing.assert_allclose(result["cross"].kl, expected.kl, rtol=1e-5, atol=1e-8)
