"""Encoder-only and decoder-only models in the window: the panes and inputs that apply, predictions
with probabilities, the continuation budget, and a refused over-long input."""

import numpy as np
import pytest

from tests.conftest import make_tiny_model
from tests.single_stack_models import endless_decoder, mlm_model
from tests.visualizer.chip_pixels import move_mouse_to_chip

TIMEOUT = 60_000
TEXT = "the cat [MASK] a dog ."
PROMPT = "the small cat"
ATTENTION_PANES = ["attention", "all-heads", "head-lines", "activations", "depth"]


def softmax_top(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and probabilities of each row's k likeliest tokens, from a full float64 softmax."""
    values = logits.astype(np.float64)
    probs = np.exp(values - values.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    ids = np.argsort(-probs, axis=-1, kind="stable")[..., :k]
    return ids, np.take_along_axis(probs, ids, axis=-1)


def guesses(model, logits_row: np.ndarray, k: int) -> str:
    ids, probs = softmax_top(logits_row[None], k)
    return ", ".join(f'"{model.tokenizer.id_to_token(int(i))}" {p * 100:.1f}%'
                     for i, p in zip(ids[0], probs[0], strict=True))


def until_idle(win) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    if win.controller.busy:
        loop = QEventLoop()  # sleeps between events, so the worker thread gets the GIL
        win.controller.busyChanged.connect(lambda busy, _text: busy or loop.quit())
        QTimer.singleShot(TIMEOUT, loop.quit)
        loop.exec()
    # The result arrives a moment before its pool thread ends: let it end within this test.
    win.controller.wait(TIMEOUT)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("single-stack")
    models = {"mlm": mlm_model(), "headless": make_tiny_model("encoder-only", output_head=False),
              "decoder": endless_decoder(),
              "learned": mlm_model(positions="learned", max_positions=8)}
    for name, model in models.items():
        model.save(folder / f"{name}.safetensors")
    return {name: folder / f"{name}.safetensors" for name in models}


@pytest.fixture(scope="module")
def hidden_window(qapp, checkpoints):
    """One never-shown window; each test opens the model it needs in it (a window costs ~0.2 s)."""
    from visualizer import MainWindow

    win = MainWindow(checkpoint=checkpoints["mlm"])  # never shown: its startup load never starts
    yield win
    win.close()
    win.deleteLater()
    qapp.processEvents()


def open_model(win, path, text: str = ""):
    """Load ``path`` in ``win`` (and run ``text``), waiting until every run is shown."""
    if win.state.model is None or win.state.model.source_path != str(path):
        win.load_checkpoint(path)
        until_idle(win)
    if text:
        win.state.set_inputs(text, "")
        win.run()
        until_idle(win)
    return win.state.model


def visible_panes(win) -> list[str]:
    """The tabs shown, checked against every registered pane's ``shown_for`` for this model."""
    shown = [p.name for i, p in enumerate(win.panes) if win.view_tabs.isTabVisible(i)]
    assert shown == [p.name for p in win.panes if p.applies_to(win.state.model)]
    return shown


def test_an_mlm_model_shows_one_text_box_and_its_mask_predictions(hidden_window, checkpoints):
    win = hidden_window
    model = open_model(win, checkpoints["mlm"], TEXT)
    panel, bar = win.input_panel, win.selection_bar
    assert {*ATTENTION_PANES, "predictions"} <= set(visible_panes(win))
    assert [bar.kind_selector.itemData(i) for i in range(bar.kind_selector.count())] == ["encoder"]
    form = panel.inputs_form
    assert not form.isRowVisible(panel.target_input) and form.isRowVisible(panel.source_input)
    assert not form.isRowVisible(panel.continue_box)  # an encoder writes nothing
    assert panel.source_input.placeholderText() == "Text; put [MASK] where the model should fill in a word"
    trace = win.state.trace
    mask = trace.source_tokens.index("[MASK]")
    assert panel.output_view.text() == f"[MASK] → {guesses(model, trace.logits[mask], 3)}"

    win.show_pane("predictions")
    view = win.predictions_view
    view.refresh()  # a hidden window never shows the pane, so it is filled on request
    assert [view.model.position(r) for r in range(view.model.rowCount())] == [mask]  # the mask only
    ids, probs = softmax_top(trace.logits[mask][None], 10)
    for rank in range(10):
        token = model.tokenizer.id_to_token(int(ids[0, rank]))
        assert view.model.cell_text(0, 2 + rank) == f"{token}  {probs[0, rank] * 100:.1f}%"
    view.every_position_box.setChecked(True)  # then every position, the mask still first
    view.refresh()
    assert [view.model.position(r) for r in range(view.model.rowCount())] == \
        [mask, *[p for p in range(len(trace.source_tokens)) if p != mask]]
    view.every_position_box.setChecked(False)


def test_an_encoder_without_an_output_head_hides_the_predictions(hidden_window, checkpoints):
    win = hidden_window
    open_model(win, checkpoints["headless"], "the cat sees a dog")
    assert win.state.trace.logits is None
    shown = visible_panes(win)
    assert set(ATTENTION_PANES) <= set(shown) and "predictions" not in shown
    assert win.state.front_pane != "predictions"  # the last test left it in front: not any more
    assert not win.input_panel.inputs_form.isRowVisible(win.input_panel.hover_predictions)
    assert win.input_panel.output_view.text() == ""


def test_the_predictions_data_are_the_softmax_of_the_logits(hidden_window, checkpoints, tmp_path):
    win = hidden_window
    model = open_model(win, checkpoints["decoder"], PROMPT)
    win.show_pane("predictions")
    win.state.set_option(top_k=4)
    with np.load(win.export_front_pane(tmp_path / "p.npz"), allow_pickle=False) as data:
        ids, probs = softmax_top(win.state.trace.logits, 4)
        np.testing.assert_array_equal(data["top_ids"], ids)
        np.testing.assert_allclose(data["top_probs"], probs, rtol=1e-5)
        assert np.all(data["top_probs"].sum(axis=1) <= 1 + 1e-6)
        assert data["top_tokens"].tolist() == [[model.tokenizer.id_to_token(int(i)) for i in row]
                                               for row in ids]
    win.state.set_option(top_k=10)


def test_a_decoder_only_model_continues_by_the_budget_in_the_spin_box(hidden_window, checkpoints):
    from engine.inspectable_model import DECODER_ONLY_CONTINUATION

    win = hidden_window
    model = open_model(win, checkpoints["decoder"], PROMPT)
    panel, bar = win.input_panel, win.selection_bar
    assert [bar.kind_selector.itemData(i) for i in range(bar.kind_selector.count())] == ["decoder"]
    assert {*ATTENTION_PANES, "predictions"} <= set(visible_panes(win))
    assert panel.inputs_form.isRowVisible(panel.continue_box)
    prompt = len(model.tokenizer.encode(PROMPT).ids)
    if win.state.max_new_tokens is None:  # untouched: the engine's default, shown and used
        assert panel.continue_box.value() == DECODER_ONLY_CONTINUATION
        assert len(win.state.trace.target_tokens) == prompt + DECODER_ONLY_CONTINUATION
    for budget in (3, 0):
        panel.continue_box.setValue(budget)  # a new budget reruns the prompt by itself
        until_idle(win)
        assert win.state.max_new_tokens == budget
        assert len(win.state.trace.target_tokens) == prompt + budget  # this model never ends early
    panel.target_input.setText("sees a dog")  # a given continuation is read, not written
    assert not panel.continue_box.isEnabled()
    panel.target_input.setText("")
    panel.continue_box.setValue(DECODER_ONLY_CONTINUATION)
    until_idle(win)


def test_an_over_long_input_names_the_limit_and_keeps_the_previous_trace(hidden_window, checkpoints,
                                                                           qtbot):
    win = hidden_window
    open_model(win, checkpoints["learned"], "the cat sees a dog")  # 6 tokens: fits in 8
    before = win.state.trace
    assert len(before.source_tokens) == 6
    with qtbot.waitSignal(win.errorOccurred, timeout=TIMEOUT) as blocker:
        win.run("the small cat sees a big red dog .")  # 10 tokens
    until_idle(win)
    assert "the text has 10 tokens; this model accepts at most 8" in blocker.args[0]
    assert win.state.trace is before
    label = win.input_panel.error_label
    assert label.isVisibleTo(win.input_panel) and "accepts at most 8" in label.text()
    assert "previous run" in label.text()
    with qtbot.waitSignal(win.traceChanged, timeout=TIMEOUT):
        win.run("the dog runs")  # a text that fits clears the error
    until_idle(win)  # the run's thread returns just after its result arrives
    assert not label.isVisibleTo(win.input_panel)


def test_hovering_a_decoder_token_shows_its_top_5_next_tokens(window, qtbot, checkpoints):
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.load_checkpoint(checkpoints["decoder"])
    window.input_panel.continue_box.setValue(2)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.run(PROMPT, "")
    until_idle(window)
    model, trace = window.state.model, window.state.trace
    chips = window.input_panel.token_chips
    move_mouse_to_chip(qtbot, chips, "target", 2)
    assert window.state.hover == ("target", 2)
    expected = f'after "small" #2: {guesses(model, trace.logits[2], 5)}'
    assert window.input_panel.hover_predictions.text() == expected
    window.show_pane("predictions")
    view = window.predictions_view
    qtbot.waitUntil(lambda: view.model.rowCount() == len(trace.target_tokens), timeout=5000)
    assert view.readout.text() == expected
    assert [i.row() for i in view.table.selectionModel().selectedRows()] == [2]
