"""Registered panes: each exports its own content, the same file as the CLI, and the window adapts."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

import engine
from main import main
from tests.conftest import make_tiny_model
from tests.export_checks import svg_texts
from tests.visualizer.conftest import PAIR
from visualizer.panes import PANES, pane_named

TIMEOUT = 60_000
SOURCE, TARGET = PAIR


SELECTION = dict(kind="decoder", layer=1, head=2, hook="decoder.1.norm_ffn.input")


@pytest.fixture
def window(traced_window):
    """The tiny model's window after a source and target run, on decoder layer 1, head 2."""
    traced_window.state.set_selection(**SELECTION)
    return traced_window


@pytest.fixture(scope="module")
def shared_window(qapp, tiny_checkpoint):
    """One hidden traced window for the tests that only read and export (a window costs ~0.2 s)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from visualizer import MainWindow

    def until_idle(win):
        loop = QEventLoop()  # sleeps between events, so the worker thread gets the GIL
        win.controller.busyChanged.connect(lambda busy, _text: busy or loop.quit())
        QTimer.singleShot(TIMEOUT, loop.quit)
        loop.exec()

    win = MainWindow(checkpoint=tiny_checkpoint)  # never shown: its startup load never starts
    win.load_checkpoint(tiny_checkpoint)
    until_idle(win)  # the load, then the example sentence's run
    win.run(SOURCE, TARGET)
    until_idle(win)
    assert win.state.trace_inputs == PAIR, "the shared window's run did not finish"
    yield win
    win.close()
    win.deleteLater()
    qapp.processEvents()


@pytest.fixture
def reader(shared_window):
    """The shared window on decoder layer 1, head 2, the attention pane in front; exports drained."""
    shared_window.state.set_selection(**SELECTION)
    shared_window.show_pane("attention")
    yield shared_window
    shared_window.export_actions.wait()  # no export thread may outlive the test


CORRUPTED = "the small dog sees a red house ."  # as many tokens as SOURCE
SWEEP_PANES = ("head-importance", "patching")


def finish_sweep(window, name: str, qtbot) -> None:
    """Run a sweep pane's background work from its view and wait for its result."""
    from visualizer.state.sweeps import stored_result

    if name not in SWEEP_PANES:
        return
    window.state.set_option(patch_corrupted=CORRUPTED)
    window.views[name].start()
    qtbot.waitUntil(lambda: stored_result(window.state, name) is not None, timeout=TIMEOUT)


SOURCE_B = "the big dog sees a red house ."  # the compare pane's run B: as many tokens as SOURCE


def give_run_b(window, name: str, qtbot) -> None:
    """For the compare pane: run B of SOURCE_B, waited for (other panes: nothing)."""
    if name != "compare":
        return
    window.state.set_option(compare_source=SOURCE_B)
    qtbot.waitUntil(lambda: getattr(window.state.second_run, "trace", None) is not None
                    and window.state.second_run.trace_a is window.state.trace, timeout=TIMEOUT)


def expected_matrix(window, name: str) -> np.ndarray:
    """What each pane shows as its main matrix, computed here independently of the pane code."""
    state, trace = window.state, window.state.trace
    if name == "head-importance":  # the engine's sweep is checked against run(ablate=) in tests/engine
        from engine.head_importance import head_importance

        return head_importance(window.state.model, SOURCE, "decoder", TARGET).kl
    if name == "patching":
        from engine.patching import patching

        return patching(window.state.model, SOURCE, CORRUPTED, TARGET).effect
    if name == "compare":  # B − A: the same head of SOURCE_B's run, minus this run's
        other = window.state.model.run(SOURCE_B, TARGET)
        return other.attention["decoder"][1, 2] - trace.attention["decoder"][1, 2]
    if name in ("attention", "all-heads", "head-lines"):
        return trace.attention["decoder"][1, 2]
    if name == "activations":
        return trace.activations["decoder.1.norm_ffn.input"]
    if name == "predictions":  # each target position's 10 likeliest next tokens, sorted
        logits = trace.logits.astype(np.float64)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return -np.sort(-probs / probs.sum(axis=1, keepdims=True), axis=1)[:, :10]
    if name == "logit-lens":  # the tiny model has no final norm and ties its output to the embedding
        table = window.state.model.module.token_embedding.weight.detach().double().numpy()
        rows = ["decoder.0.resid_pre", "decoder.0.resid_post", "decoder.1.resid_post"]
        logits = np.stack([trace.activations[r].astype(np.float64) @ table.T for r in rows])
        probs = np.exp(logits - logits.max(axis=2, keepdims=True))
        return (probs / probs.sum(axis=2, keepdims=True)).max(axis=2)
    if name == "head-stats":  # each decoder head's entropy in nats, a mean over its query rows
        weights = trace.attention["decoder"].astype(np.float64)
        logs = np.log(np.where(weights > 0, weights, 1.0))
        return -(weights * logs).sum(axis=-1).mean(axis=-1)
    if name == "rollout":  # decoder layers 0 and 1, heads averaged, half identity, rows renormalised
        steps = [0.5 * trace.attention["decoder"][i].mean(axis=0) + 0.5 * np.eye(len(trace.target_tokens))
                 for i in range(2)]
        steps = [s / s.sum(axis=1, keepdims=True) for s in steps]
        return steps[1] @ steps[0]
    # depth: the decoder's residual-stream norm at every point, each token a row
    points = ["decoder.0.resid_pre"] + [f"decoder.{i}.{p}" for i in range(2)
                                        for p in ("resid_mid", "resid_cross", "resid_post")]
    assert state.kind == "decoder"
    return np.stack([np.linalg.norm(trace.activations[p].astype(np.float64), axis=-1) for p in points],
                    axis=1)


@pytest.mark.parametrize("name", [p.name for p in PANES])
def test_export_from_each_pane_writes_that_panes_content(reader, qtbot, tmp_path, name):
    reader.show_pane(name)
    pane, actions = pane_named(name), reader.export_actions
    assert actions.data_action.isEnabled() == (pane.data is not None)
    assert actions.plot_action.isEnabled() == (pane.figure is not None)
    give_run_b(reader, name, qtbot)
    finish_sweep(reader, name, qtbot)
    data = reader.export_front_pane(tmp_path / f"{name}.npz")
    with np.load(data, allow_pickle=False) as arrays:
        np.testing.assert_allclose(arrays["matrix"], expected_matrix(reader, name), rtol=1e-6)
        assert ("all_heads" in arrays) == (name == "all-heads")
        if name == "all-heads":
            np.testing.assert_array_equal(arrays["all_heads"], reader.state.trace.attention["decoder"])
    if pane.figure is None:
        with pytest.raises(ValueError, match=f"the {pane.title} pane has no figure"):
            reader.export_front_pane(tmp_path / f"{name}.svg")
        assert not (tmp_path / f"{name}.svg").exists()
        return
    with qtbot.waitSignal(actions.exported, timeout=TIMEOUT) as written:  # File → Export plot
        assert actions.export_plot(tmp_path / f"{name}.png") > 0
    assert Path(written.args[0]).stat().st_size > 1000
    texts = " ".join(svg_texts(reader.export_front_pane(tmp_path / f"{name}.svg")))
    title = {"attention": "Decoder self-attention, layer 1, head 2",
             "all-heads": "Decoder self-attention, all 2 layers × 4 heads",
             "head-lines": "Decoder self-attention, layer 1, head 2",
             "activations": "decoder.1.norm_ffn.input",
             "depth": "depth: residual stream and norm statistics, decoder stack",
             "predictions": "top 10 next-token predictions",
             "logit-lens": "logit lens: each layer's top token, coloured by its probability",
             "compare": "Decoder self-attention, layer 1, head 2: A, B and B − A",
             "head-stats": "Decoder self-attention heads: entropy (nats)",
             "rollout": "attention rollout, Decoder self-attention, layers 0–1, mean of heads",
             "head-importance": "head importance, Decoder self-attention",
             "patching": "residual patching, clean → corrupted"}[name]
    assert title in texts


def test_an_unknown_format_names_the_formats_that_work(reader, tmp_path):
    with pytest.raises(ValueError, match=r"unknown format '\.gif'; use \.png, \.svg, \.pdf, \.npz, \.csv"):
        reader.export_front_pane(tmp_path / "plot.gif")


@pytest.mark.parametrize("view, args", [
    ("attention", ["--kind", "decoder", "--layer", "1", "--head", "2"]),
    ("activations", ["--hook", "decoder.1.norm_ffn.input"]),
    ("depth", ["--kind", "decoder"]),
    ("predictions", ["--top-k", "10"]),
    ("logit-lens", []),
    ("rollout", ["--kind", "decoder", "--layer", "1", "--head", "mean"]),
    ("head-stats", ["--kind", "decoder"]),
    ("compare", ["--kind", "decoder", "--layer", "1", "--head", "2", "--source2", SOURCE_B]),
    ("head-importance", ["--kind", "decoder"]),
    ("patching", ["--kind", "decoder", "--clean", SOURCE, "--corrupted", CORRUPTED]),
])
def test_the_cli_writes_the_same_numbers_as_the_window(reader, tmp_path, tiny_checkpoint, view, args, qapp,
                                                       qtbot):
    reader.show_pane(view)
    give_run_b(reader, view, qtbot)
    finish_sweep(reader, view, qtbot)
    from_window = reader.export_front_pane(tmp_path / "window.npz")
    headless = tmp_path / "cli.npz"
    assert main(["export", "--view", view, "--checkpoint", str(tiny_checkpoint), "--source", SOURCE,
                 "--target", TARGET, *args, "--out", str(headless)]) == 0
    with np.load(from_window) as a, np.load(headless) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if a[key].dtype.kind == "f":
                np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)
            else:
                assert a[key].tolist() == b[key].tolist(), key


def test_panes_that_ignore_the_selection_turn_the_selection_bar_off(reader):
    bar = reader.selection_bar
    expected_off = {"activations": "kind layer head", "depth": "kind layer head",
                    "predictions": "kind layer head", "logit-lens": "kind layer head", "rollout": "head",
                    "head-stats": "layer head", "head-importance": "layer head", "patching": "layer head"}
    for pane in PANES:
        reader.show_pane(pane.name)
        selectors = {"kind": bar.kind_selector, "layer": bar.layer_selector, "head": bar.head_selector}
        off = {name for name, s in selectors.items() if not s.isEnabled()}
        assert off == set(expected_off.get(pane.name, "").split()), pane.name
        for name in off:  # the tooltip says why the selector is off
            assert selectors[name].toolTip() == f"The {pane.title} tab does not use the {name}"
    reader.show_pane("attention")
    assert bar.layer_selector.isEnabled() and bar.head_selector.isEnabled()


def test_ctrl_enter_runs_from_anywhere_in_the_window(window, qtbot):
    """Not only Enter in a text box: the shortcut works with the heatmap focused too."""
    window.state.set_inputs("the dog runs", "")
    view = window.attention_view
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    with qtbot.waitSignal(window.traceChanged, timeout=10_000) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0].source_tokens[:3] == ["the", "dog", "runs"]


def test_every_opened_model_starts_on_its_own_aligning_head(window, qtbot, tmp_path):
    paths = []
    for head in ([0, 1], [1, 3]):
        model = make_tiny_model(seed=head[1])
        model.training = {"eval": {"best_alignment_head": head, "alignment_accuracy": 0.9}}
        paths.append(tmp_path / f"aligned-{head[1]}.safetensors")
        model.save(paths[-1])
    window.state.set_selection(kind="encoder", layer=1, head="mean")
    for path, (layer, head) in zip(paths, ([0, 1], [1, 3]), strict=True):
        with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
            window.load_checkpoint(path)
        assert (window.state.kind, window.state.layer, window.state.head) == ("cross", layer, head)
        assert window.selection_bar.head_selector.currentData() == head


def test_the_help_menu_lists_the_shortcuts(window, qtbot):
    from PySide6.QtWidgets import QMessageBox

    titles = [a.text() for a in window.help_menu.actions()]
    assert titles == ["&Keyboard shortcuts…", "&About Transformer Inspector…"]
    window.help_menu.actions()[0].trigger()
    box = window.findChild(QMessageBox, "shortcutsBox")
    assert box is not None and box.isVisible()
    for keys in ("Ctrl+Enter", "← / →", "↑ / ↓", "Ctrl+E"):
        assert keys in box.text()
    box.close()


def test_the_all_heads_figure_is_never_narrower_than_its_title(reader):
    from visualizer.figures.painting import Fonts, text_width

    reader.state.set_selection(kind="cross")
    figure = pane_named("all-heads").figure(reader.state.core)
    assert text_width(Fonts().title, figure.title) <= figure.natural_size().width() - 20


def test_a_failed_run_keeps_the_trace_and_names_the_problem(window, qtbot, monkeypatch):
    before = window.state.trace

    def refuse(*_args, **_kwargs):
        raise engine.InputError("600 tokens; this model accepts at most 512")

    monkeypatch.setattr(window.state.model, "run", refuse)
    with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as blocker:
        window.run("the dog runs")
    assert "600 tokens; this model accepts at most 512" in blocker.args[0]
    assert window.state.trace is before
    assert "600 tokens" in window.statusBar().currentMessage()  # the message stays on screen


def test_panes_that_do_not_apply_to_a_model_are_hidden(qtbot, monkeypatch, tiny_checkpoint,
                                                       tiny_decoder_only_checkpoint):
    """Which tabs appear is derived from the model: a cross-attention-only pane leaves with it."""
    import dataclasses

    import visualizer.main_window as main_window
    from visualizer import MainWindow

    cross_only = dataclasses.replace(pane_named("head-lines"), name="cross-lines", title="Cross lines",
                                     object_name="crossLinesPane",
                                     shown_for=lambda model: "cross" in model.kinds)
    monkeypatch.setattr(main_window, "PANES", (*PANES, cross_only))
    win = MainWindow(checkpoint=tiny_checkpoint)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.traceChanged, timeout=TIMEOUT):
        win.show()
    last = win.view_tabs.count() - 1
    assert win.view_tabs.isTabVisible(last)
    win.show_pane("cross-lines")
    with qtbot.waitSignal(win.traceChanged, timeout=TIMEOUT):
        win.load_checkpoint(tiny_decoder_only_checkpoint)
    assert not win.view_tabs.isTabVisible(last)
    # Not left on a pane that no longer applies: the state follows the tab Qt moved to.
    assert win.state.front_pane != "cross-lines"
    assert win.view_tabs.isTabVisible(win.view_tabs.currentIndex())
    assert win.state.front_pane == win.panes[win.view_tabs.currentIndex()].name
    win.close()


def test_from_the_first_paint_every_pane_says_which_model_is_loading(qtbot, tiny_checkpoint):
    from visualizer import MainWindow

    win = MainWindow(checkpoint=tiny_checkpoint)
    qtbot.addWidget(win)
    assert win.state.loading == tiny_checkpoint.name  # before the load has even started
    assert "Loading tiny.safetensors" in win.attention_view.plot.titleLabel.text
    with qtbot.waitSignal(win.traceChanged, timeout=TIMEOUT):
        win.show()
    assert win.state.loading == ""
    win.close()


def test_subscribe_connects_each_handler_by_its_name(qapp):
    """Views follow one rule: ``_on_x_changed`` handles ``state.xChanged``; other names are left."""
    from PySide6.QtCore import QObject

    from visualizer.state.app_state import AppState

    class Listener(QObject):
        def __init__(self):
            super().__init__()
            self.heard = []

        def _on_selection_changed(self):
            self.heard.append("selection")

        def _on_hover_changed(self, side, position):
            self.heard.append(("hover", side, position))

        def _on_colour_changed(self):  # not a state signal: never connected
            self.heard.append("colour")

    state, listener = AppState(), Listener()
    state.subscribe(listener)
    state.set_model(make_tiny_model())
    state.set_selection(layer=1)
    state.set_hover("source", 2)
    state.set_option(colormap="magma")
    assert listener.heard == ["selection", ("hover", "", -1), "selection", ("hover", "source", 2)]
