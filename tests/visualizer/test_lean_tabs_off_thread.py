"""On a lean trace the Activations and Head lines tabs read a layer they have not shown on a pool
thread ("computing layer N…" meanwhile), and File → Export makes the figure or data of a lean
layer off the GUI thread; each then shows or writes the full trace's numbers. (A pool thread may
run torch on another thread count than the full run did, so values agree within float32 rounding;
the engine's tests compare replays bit for bit on one thread.)"""

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QDialog, QFileDialog

from engine.lean_recording import LAYER_CACHE
from engine.memory_guard import estimate_run
from tests.conftest import make_tiny_model
from tests.export_checks import svg_texts
from tests.visualizer.conftest import PAIR
from tests.visualizer.shown_view import show_then_feed
from visualizer.state.activation_hooks import matrix_of
from visualizer.state.lean_traces import is_lean
from visualizer.state.line_selection import select_lines
from visualizer.state.replayed_layers import REPLAYED_LAYERS
from visualizer.views.activation_view import ActivationView
from visualizer.views.head_line_view import HeadLineView
from visualizer.widgets.export_dialog import ExportDialog

SENTENCE, TARGET = "the small cat sees the red house .", "le petit chat voit"
TIMEOUT = 10_000


def assert_same(actual, expected) -> None:
    """Numbers within float32 rounding; anything else (token labels, line records) exactly."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(actual, expected)


def record_layer_threads(model) -> list[bool]:
    """Every layer forward from now on appends whether it ran on the GUI (main) thread: a lean
    trace's replay of a layer is one such forward."""
    calls: list[bool] = []
    module = model.module
    for stack in (module.encoder, module.decoder):
        for layer in stack.layers:
            layer.register_forward_pre_hook(
                lambda _m, _args: calls.append(threading.current_thread() is threading.main_thread()))
    return calls


def lean_budget(model, full) -> int:
    """A memory budget too small for ``full``'s whole trace: a run of its input records lean."""
    return estimate_run(model.module, len(full.source_tokens), len(full.target_tokens)).working_bytes


@pytest.fixture(scope="module")
def model_and_full():
    model = make_tiny_model()
    return model, model.run(SENTENCE, TARGET)


@pytest.fixture
def lean(model_and_full):
    """A fresh lean trace of the same input (no layer of it replayed by an earlier test) and the
    list of layer forwards from then on (True: on the GUI thread)."""
    model, full = model_and_full
    model.lean_over_budget, model.memory_budget = True, lean_budget(model, full)
    trace = model.run(SENTENCE, TARGET)
    assert is_lean(trace) and not is_lean(full)
    assert len(trace.source_tokens) == len(full.source_tokens)
    return trace, record_layer_threads(model)


def test_the_activations_tab_reads_a_lean_layer_off_thread_then_draws_the_full_values(
        qtbot, model_and_full, lean):
    model, full = model_and_full
    trace, on_gui_thread = lean
    view = show_then_feed(qtbot, ActivationView, (700, 500), model, trace)
    assert view.hook == "encoder.0.resid_post" and view.matrix is not None  # kept: drawn at once
    assert_same(view.matrix, full.activations["encoder.0.resid_post"])
    hook = "decoder.1.ffn.hidden"
    with qtbot.waitSignal(view.layer_reader.loaded, timeout=TIMEOUT):
        view.state.set_selection(hook=hook)
        assert view.caption.text() == "computing layer 1…"  # nothing read on the GUI thread yet
        assert view.layer_selector.currentData() == 1  # the controls follow at once
    assert view.hook == hook
    assert_same(view.image.image, view.matrix)
    assert_same(view.matrix, full.activations[hook])
    assert view.caption.text().startswith(f"{hook}: {len(full.target_tokens)} tokens × 64 features")
    # Another point and one head of the same layer: at once, bit for bit as the full trace.
    view.state.set_selection(hook="decoder.1.cross_attn.z")
    view.state.set_option(activation_head=2)
    assert not view.layer_reader.pending
    assert_same(view.matrix, full.activations["decoder.1.cross_attn.z"][2])
    # A newer selection supersedes a pending read: the tab ends on the layer chosen last.
    view.state.set_selection(hook="encoder.1.ffn.out")
    view.state.set_selection(hook="encoder.0.ffn.out")
    assert view.caption.text() == "computing layer 0…"
    qtbot.waitUntil(lambda: view.hook == "encoder.0.ffn.out" and not view.layer_reader.pending
                    and not view.caption.text().startswith("computing"), timeout=TIMEOUT)
    assert_same(view.matrix, full.activations["encoder.0.ffn.out"])
    assert view.layer_reader.wait(TIMEOUT)
    assert on_gui_thread and not any(on_gui_thread)  # layers were replayed, none on the GUI thread


def test_the_head_lines_tab_reads_a_lean_layer_off_thread_then_draws_the_full_lines(
        qtbot, model_and_full, lean):
    model, full = model_and_full
    trace, on_gui_thread = lean
    view = show_then_feed(qtbot, HeadLineView, (700, 500), model, trace)
    if not trace.attention["encoder"].is_loaded(0):  # another test's reads may have evicted it
        assert view.caption.text() == "computing layer 0…" and view.matrices == {}
        qtbot.waitSignal(view.layer_reader.loaded, timeout=TIMEOUT).wait()
    assert_same(view.matrices[0], full.attention["encoder"][0, 0])
    with qtbot.waitSignal(view.layer_reader.loaded, timeout=TIMEOUT):
        view.state.set_selection(kind="cross", layer=1, head=2)
        view.state.set_option(lines_all_heads=True)
        assert view.caption.text() == "computing layer 1…"
    assert sorted(view.matrices) == [0, 1, 2, 3]
    for head, matrix in view.matrices.items():
        assert_same(matrix, full.attention["cross"][1, head])
    expected = select_lines({h: full.attention["cross"][1, h] for h in range(4)})
    assert len(view.visible_lines()) == len(expected) > 0
    order = ["head", "query", "key"]
    drawn, wanted = np.sort(view.visible_lines(), order=order), np.sort(expected, order=order)
    for name in drawn.dtype.names:
        assert_same(drawn[name], wanted[name])
    view.state.set_selection(kind="decoder")  # decoder layer 1 holds cross layer 1: read, at once
    assert not view.layer_reader.pending and "layer 1, all 4 heads" in view.caption.text()
    assert_same(view.matrices[3], full.attention["decoder"][1, 3])
    assert view.layer_reader.wait(TIMEOUT)
    assert on_gui_thread and not any(on_gui_thread)


def test_a_layer_another_tab_evicted_is_read_off_thread_again(qtbot, model_and_full, lean):
    """The engine keeps the last two layers replayed, whichever tab read them: after the
    Activations tab reads two other layers, the Head lines tab's layer is gone, and it reads it
    again on a pool thread rather than replaying it on the GUI thread."""
    from PySide6.QtWidgets import QTabWidget

    from visualizer.state.app_state import AppState

    model, full = model_and_full
    trace, on_gui_thread = lean
    state, tabs = AppState(), QTabWidget()
    lines, activations = HeadLineView(state), ActivationView(state)
    tabs.addTab(lines, "lines")
    tabs.addTab(activations, "activations")
    qtbot.addWidget(tabs)
    tabs.show()
    qtbot.waitExposed(tabs)
    state.set_model(model)
    held = trace.attention["encoder"].is_loaded(0)  # the engine may hold it from the run
    state.set_trace(trace)
    if not held:
        qtbot.waitSignal(lines.layer_reader.loaded, timeout=TIMEOUT).wait()
    tabs.setCurrentWidget(activations)  # the lines tab behind it redraws only when shown again
    for hook in ("encoder.1.ffn.out", "decoder.1.ffn.out"):  # two other layers: encoder 0 evicted
        with qtbot.waitSignal(activations.layer_reader.loaded, timeout=TIMEOUT):
            state.set_selection(hook=hook)
    state.set_selection(head=1)
    with qtbot.waitSignal(lines.layer_reader.loaded, timeout=TIMEOUT):
        tabs.setCurrentWidget(lines)
        assert lines.caption.text() == "computing layer 0…"
    assert_same(lines.matrices[1], full.attention["encoder"][0, 1])
    state.set_selection(head=2)  # read again: at once
    assert_same(lines.matrices[2], full.attention["encoder"][0, 2])
    assert lines.layer_reader.wait(TIMEOUT) and activations.layer_reader.wait(TIMEOUT)
    assert len(on_gui_thread) >= 3 and not any(on_gui_thread)
    assert REPLAYED_LAYERS == LAYER_CACHE  # the GUI's count of replayed layers is the engine's


def test_a_plain_trace_draws_at_once_in_both_tabs(qtbot, model_and_full):
    model, full = model_and_full
    activations = show_then_feed(qtbot, ActivationView, (600, 400), model, full)
    activations.state.set_selection(hook="decoder.1.ffn.hidden")
    assert activations.matrix is full.activations["decoder.1.ffn.hidden"]  # no copy, no wait
    lines = show_then_feed(qtbot, HeadLineView, (600, 400), model, full)
    assert not lines.layer_reader.pending
    assert_same(lines.matrices[0], full.attention["encoder"][0, 0])


def written(qtbot, window, start) -> Path:
    with qtbot.waitSignal(window.export_actions.exported, timeout=TIMEOUT) as blocker:
        start()
    return Path(blocker.args[0])


def test_exports_of_a_lean_layer_are_made_off_thread_and_equal_the_full_exports(
        qtbot, traced_window, tmp_path, monkeypatch):
    window, actions = traced_window, traced_window.export_actions
    full, hook = window.state.trace, "decoder.1.ffn.hidden"
    window.show_pane("activations")
    window.state.set_selection(kind="cross", layer=1, head=2, hook=hook)
    plain_npz = written(qtbot, window, lambda: actions.export_data(tmp_path / "plain.npz"))
    window.show_pane("attention")
    plain_head = written(qtbot, window, lambda: actions.export_data(tmp_path / "plain-head.npz"))

    # A lean run behind a tab that reads no layer (a residual the run keeps).
    window.show_pane("activations")
    window.state.set_selection(kind="encoder", layer=1, head=0, hook="encoder.0.resid_post")
    model = window.state.model
    model.memory_budget = lean_budget(model, full)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.run(*PAIR)
    assert is_lean(window.state.trace)
    on_gui_thread = record_layer_threads(model)
    # Every head of encoder layer 1, which no tab has read: made on a pool thread.
    assert actions.export_all_heads(tmp_path / "grid.png") > 0
    assert "Recomputing the layers" in window.statusBar().currentMessage()
    assert not (tmp_path / "grid.png").exists()  # the call returned before the figure was made
    qtbot.waitUntil(lambda: (tmp_path / "grid.png").exists(), timeout=TIMEOUT)
    assert on_gui_thread and not any(on_gui_thread)

    window.state.set_selection(kind="cross", layer=1, head=2, hook=hook)
    view = window.activation_view
    qtbot.waitUntil(lambda: view.hook == hook and not view.layer_reader.pending, timeout=TIMEOUT)
    lean_npz = written(qtbot, window, lambda: actions.export_data(tmp_path / "lean.npz"))
    window.show_pane("attention")
    lean_head = written(qtbot, window, lambda: actions.export_data(tmp_path / "lean-head.npz"))
    for plain, lean in ((plain_npz, lean_npz), (plain_head, lean_head)):
        with np.load(plain, allow_pickle=False) as want, np.load(lean, allow_pickle=False) as got:
            assert sorted(got.files) == sorted(want.files)
            for name in ("matrix", "query_tokens", "key_tokens"):
                assert_same(got[name], want[name])
    with np.load(lean_npz) as got:
        assert_same(got["matrix"], matrix_of(full.activations[hook]))
    with np.load(lean_head) as got:
        assert_same(got["matrix"], full.attention["cross"][1, 2])

    # An unwritable path is reported as for a plain trace, once the figure is made.
    target = tmp_path / "no such folder" / "head.png"
    with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as blocker:
        assert actions.export_plot(target) > 0
    assert str(target) in blocker.args[0] and not target.parent.exists()
    window.error_box.close()
    assert actions.wait(TIMEOUT) and window.attention_view.layer_reader.wait(TIMEOUT)
    assert not any(on_gui_thread)

    # From the menu: the dialog opens once the figure is made, sized by it, for the state at the
    # click; a later change of layer does not reach the file.
    asked = []

    def accept(dialog):
        asked.append(dialog.path_edit.text())
        dialog.path_edit.setText(str(tmp_path / "menu.png"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *_args: (str(tmp_path / "menu.npz"), "NPZ (*.npz)"))
    window.state.set_selection(kind="encoder", layer=0, head=3)
    with qtbot.waitSignal(actions.exported, timeout=TIMEOUT):
        actions.data_action.trigger()
        window.state.set_selection(layer=1)
    with np.load(tmp_path / "menu.npz") as got:
        assert_same(got["matrix"], full.attention["encoder"][0, 3])
    with qtbot.waitSignal(actions.exported, timeout=TIMEOUT):
        actions.plot_action.trigger()
        assert asked == []  # no dialog before the figure is made
    assert len(asked) == 1 and asked[0].endswith("encoder-L1-H3.png") and (tmp_path / "menu.png").exists()

    # Closing the window waits until a figure being made is made and written.
    assert actions.export_all_heads(tmp_path / "closing.svg") > 0
    window.close()
    assert "Encoder self-attention" in " ".join(svg_texts(tmp_path / "closing.svg"))
