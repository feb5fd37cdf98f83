"""The main window: type, run, see the trace; the model facts, tokens, output and status bar."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.visualizer.chip_pixels import chip_color, move_mouse_to_chip
from visualizer import MainWindow
from visualizer.widgets.token_chips import HOVER_COLOR, SIDE_COLORS

LOAD_TIMEOUT = 60_000  # the first load imports torch


def test_first_trace_shows_the_example_sentence_translated(window):
    trace = window.state.trace
    panel = window.input_panel
    assert panel.source_input.text()  # an example sentence is filled in
    assert trace.source_tokens == window.state.model.tokenizer.encode(panel.source_input.text()).tokens
    assert panel.output_view.text() == trace.output_text
    assert "forward" in window.timing_label.text() and "ms" in window.timing_label.text()
    assert not window.busy_bar.isVisible()


def test_typing_and_running_shows_the_new_matrix(window, qtbot):
    panel = window.input_panel
    panel.source_input.clear()
    qtbot.keyClicks(panel.source_input, "the dog runs")
    with qtbot.waitSignal(window.traceChanged, timeout=LOAD_TIMEOUT) as blocker:
        qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    trace = blocker.args[0]
    assert trace.source_tokens == ["the", "dog", "runs", "</s>"]
    window.state.set_selection(kind="cross", layer=1, head=2)
    shown = window.attention_view.image_item.image
    np.testing.assert_array_equal(shown, trace.attention["cross"][1, 2])
    chips = panel.token_chips
    assert chips.tooltip_at(chips.chip_rect("source", 1).center()) == 'source "dog" #1'


def test_ctrl_enter_runs_with_the_typed_target(window, qtbot):
    panel = window.input_panel
    panel.source_input.setText("a red house")
    panel.target_input.setText("une maison rouge")
    with qtbot.waitSignal(window.traceChanged, timeout=LOAD_TIMEOUT) as blocker:
        qtbot.keyClick(panel.target_input, Qt.Key_Return, Qt.ControlModifier)
    trace = blocker.args[0]
    assert trace.target_tokens[0] == "<s>" and len(trace.target_tokens) == 1 + len(
        window.state.model.target_tokenizer.encode("une maison rouge").ids)
    assert trace.output_text == ""  # nothing was decoded: the target was given


def test_model_facts_name_the_architecture_and_size(window):
    facts = window.input_panel.facts_label.text()
    model = window.state.model
    for expected in ("tiny encoder-decoder", "encoder-decoder", "2 enc + 2 dec × 4", "32", "word-level"):
        assert expected in facts
    assert f"{model.parameter_count / 1e3:.1f} k" in facts


def test_every_registered_pane_is_a_named_tab_and_actions_can_join_the_file_menu(window, qtbot):
    from visualizer.panes import PANES

    tabs = window.view_tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == [p.title for p in PANES]
    assert [tabs.widget(i).objectName() for i in range(tabs.count())] == [p.object_name for p in PANES]
    assert all(p.object_name.endswith("Pane") and tabs.tabToolTip(i) == p.tooltip
               for i, p in enumerate(PANES))
    for i, pane in enumerate(PANES):
        tabs.setCurrentIndex(i)
        assert window.state.front_pane == pane.name
    action = window.file_menu.addAction("Export something…")
    window.files.keep_quit_last()
    actions = window.file_menu.actions()
    assert actions[-1] is window.files.quit_action and action in actions


def test_empty_source_reports_instead_of_running(window, qtbot):
    window.input_panel.source_input.clear()
    with qtbot.waitSignal(window.errorOccurred, timeout=1000) as blocker:
        window.input_panel.run_button.click()
    assert "source" in blocker.args[0].lower()
    assert "source" in window.statusBar().currentMessage().lower()


def test_without_a_default_model_the_window_says_so(qtbot, monkeypatch, tmp_path):
    import visualizer.main_window as main_window

    monkeypatch.setattr(main_window, "DEFAULT_CHECKPOINT", tmp_path / "missing.safetensors")
    win = MainWindow()
    qtbot.addWidget(win)
    assert "no default model found" in win.statusBar().currentMessage().lower()
    assert not win.input_panel.run_button.isEnabled()
    assert "File → Open checkpoint" in win.attention_view.plot.titleLabel.text
    assert "No model loaded" in win.input_panel.facts_label.text()


def test_hovering_a_token_highlights_it_in_the_token_list(window, qtbot):
    chips = window.input_panel.token_chips
    trace = window.state.trace
    sides = (("source", trace.source_tokens), ("target", trace.target_tokens))
    chips_of = [(side, i) for side, tokens in sides for i in range(len(tokens))]
    window.state.set_hover("source", 1)
    qtbot.wait(20)
    amber = [chip for chip in chips_of if chip_color(chips, *chip) == HOVER_COLOR]
    assert amber == [("source", 1)]  # that chip, once, and no other
    window.state.set_hover("", -1)
    qtbot.wait(20)
    assert all(chip_color(chips, side, i) == SIDE_COLORS[side] for side, i in chips_of)


def test_hovering_a_token_chip_highlights_it_in_the_heatmap(window, qtbot):
    panel, view = window.input_panel, window.attention_view
    window.state.set_selection(kind="cross")
    move_mouse_to_chip(qtbot, panel.token_chips, "source", 2)
    assert window.state.hover == ("source", 2)
    assert view.column_band.isVisible() and tuple(view.column_band.getRegion()) == (2, 3)
    qtbot.mouseMove(panel.token_chips, QPoint(1, 1))  # the margin, on no chip
    assert window.state.hover == ("", -1) and not view.column_band.isVisible()


@pytest.mark.parametrize("architecture, source_label, target_enabled", [
    ("decoder-only", "Prompt:", True), ("encoder-only", "Text:", False),
    ("encoder-decoder", "Source:", True)])
def test_inputs_are_named_for_what_the_model_does(qtbot, architecture, source_label, target_enabled):
    from tests.conftest import make_tiny_model
    from visualizer.state.app_state import AppState
    from visualizer.widgets.input_panel import InputPanel

    state = AppState()
    panel = InputPanel(state)
    qtbot.addWidget(panel)
    panel.target_input.setText("le chat")
    state.set_model(make_tiny_model(architecture))
    assert panel.source_label.text() == source_label
    assert panel.target_input.isEnabled() == target_enabled
    assert (panel.target_input.text() == "le chat") == target_enabled  # no target sent to an encoder


def test_a_trained_checkpoint_states_its_training_and_opens_on_its_aligning_head(qtbot, tmp_path):
    from tests.conftest import make_tiny_model

    model = make_tiny_model()
    model.training = {"steps": 3000, "train_pairs": 200000,
                      "eval": {"n": 500, "exact_match": 0.996, "alignment_accuracy": 0.97,
                               "best_alignment_head": [1, 2]}}
    path = tmp_path / "trained.safetensors"
    model.save(path)
    win = MainWindow(checkpoint=path)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.traceChanged, timeout=LOAD_TIMEOUT) as blocker:
        win.show()
    facts = win.input_panel.facts_label.text()
    assert "3,000 steps on 200,000 pairs" in facts and "99.6% of 500 held out" in facts
    assert "cross L1 H2, 97% aligned" in facts
    assert (win.state.kind, win.state.layer, win.state.head) == ("cross", 1, 2)
    shown = win.attention_view.image_item.image
    np.testing.assert_array_equal(shown, blocker.args[0].attention["cross"][1, 2])
    win.close()


def test_the_window_reopens_with_the_size_it_was_closed_with(window, qtbot, tiny_checkpoint):
    # The offscreen screen is 800 px wide, narrower than the window's minimum, so Qt clamps the
    # width on restore (and the panes with it); the height is free to check.
    window.resize(window.width(), 720)
    window.splitter.setSizes([300, window.splitter.width() - 300])
    saved_panes = window.splitter.saveState()
    window.close()
    again = MainWindow(checkpoint=tiny_checkpoint)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.traceChanged, timeout=LOAD_TIMEOUT):
        again.show()
    assert again.height() == 720
    assert again.settings.value("window/splitter") == saved_panes
    again.close()
