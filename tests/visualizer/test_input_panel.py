"""The input panel: every token reachable however long the text, and an Output box that always says
what the model made of it."""

from PySide6.QtWidgets import QScrollArea

from tests.conftest import TINY_WORDS, make_tiny_model

TIMEOUT = 60_000


def _run(window, qtbot, source, target=""):
    panel = window.input_panel
    panel.source_input.setText(source)
    panel.target_input.setText(target)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        panel.run_button.click()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    return blocker.args[0]


def test_a_long_source_scrolls_so_the_target_tokens_can_be_reached(window, qtbot):
    words = TINY_WORDS[:14]  # English words of the tiny vocabulary
    trace = _run(window, qtbot, " ".join(words[i % len(words)] for i in range(500)))
    assert len(trace.source_tokens) == 501
    qtbot.wait(50)  # the chips' new height reaches the scroll area
    scroll = window.findChild(QScrollArea, "tokensScroll")
    chips = window.input_panel.token_chips
    assert scroll is not None and scroll.widget() is chips and chips.objectName() == "tokensView"
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0  # more chips than fit: the pane scrolls instead of clipping
    end = len(trace.target_tokens) - 1
    last = chips.chip_rect("target", end)
    assert last.top() > scroll.viewport().height()  # out of sight at first
    assert chips.height() >= last.bottom()  # and inside the widget: never clipped

    bar.setValue(bar.maximum())
    qtbot.wait(20)
    assert chips.visibleRegion().contains(last)  # the very last chip, whole, is in view
    assert chips.tooltip_at(last.center()) == f'target "{trace.target_tokens[end]}" #{end}'


def test_a_given_target_shows_what_the_model_predicts_at_each_position(window, qtbot):
    trace = _run(window, qtbot, "the dog runs", "le chien court")
    assert trace.output_text == ""  # nothing was decoded
    output = window.input_panel.output_view
    assert output.text() == "Predicted: " + " ".join(trace.predicted_tokens)
    assert len(trace.predicted_tokens) == len(trace.target_tokens)
    assert output.cursorPosition() == 0  # the start of the line is what shows


def test_a_model_that_ends_at_once_says_its_output_is_empty(window, qtbot, tmp_path):
    model = make_tiny_model(final_logits_bias=True)
    model.module.final_logits_bias.data[model.config.eos_token_id] = 100.0  # end of text always wins
    path = tmp_path / "ends-at-once.safetensors"
    model.save(path)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.load_checkpoint(path)
    trace = _run(window, qtbot, "the dog runs")
    assert trace.output_text == "" and trace.target_tokens == ["<s>", "</s>"]
    assert window.input_panel.output_view.text() == "(the model ended at once: empty output)"
