"""Ablating a head from the GUI reruns the model without that head's output."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

TIMEOUT = 60_000


def _select(window, kind, layer, head):
    window.state.set_selection(kind=kind, layer=layer, head=head)


def test_ablate_button_reruns_with_the_head_zeroed(window, qtbot):
    before = window.state.trace
    _select(window, "cross", 1, 2)
    button = window.findChild(QPushButton, "ablateButton")
    assert button.isEnabled() and not button.isChecked()
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(button, Qt.LeftButton)
    trace = blocker.args[0]
    assert trace.ablated == (("cross", 1, 2),)
    assert np.all(trace.activations["decoder.1.cross_attn.z"][2] == 0.0)
    assert np.any(before.activations["decoder.1.cross_attn.z"][2] != 0.0)
    assert button.isChecked()
    summary = window.findChild(QLabel, "ablationSummary")
    assert summary.text() == "Ablated: cross L1 H2"

    # Another head is not ablated; the button follows the selection.
    _select(window, "cross", 1, 1)
    assert not button.isChecked()

    restore = window.findChild(QPushButton, "clearAblationButton")
    assert restore.isVisible()
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(restore, Qt.LeftButton)
    assert blocker.args[0].ablated == ()
    assert summary.text() == "" and not restore.isVisible()
    np.testing.assert_array_equal(blocker.args[0].logits, before.logits)


def test_ablation_needs_a_single_head_and_is_cleared_by_a_new_model(window, qtbot, tiny_checkpoint):
    button = window.findChild(QPushButton, "ablateButton")
    _select(window, "encoder", 0, "mean")
    assert not button.isEnabled()
    _select(window, "encoder", 0, 1)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        qtbot.mouseClick(button, Qt.LeftButton)
    assert window.state.ablated == {("encoder", 0, 1)}
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        window.load_checkpoint(tiny_checkpoint)
    assert window.state.ablated == frozenset()
    assert blocker.args[0].ablated == ()


def test_many_ablated_heads_keep_the_window_and_input_panel_their_size(window, qtbot):
    """Sixteen heads are a count with the list in its tooltip, not a label that widens the window."""
    qtbot.wait(50)  # let the first layout settle
    width, panel_width = window.width(), window.input_panel.width()
    heads = [(kind, layer, head) for kind in ("encoder", "cross") for layer in (0, 1) for head in range(4)]
    for kind, layer, head in heads:
        window.state.toggle_ablation(kind, layer, head)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    qtbot.wait(50)
    assert len(window.state.trace.ablated) == 16
    assert (window.width(), window.input_panel.width()) == (width, panel_width)
    summary = window.findChild(QLabel, "ablationSummary")
    assert summary.text() == "16 heads ablated"
    for name in ("enc L0 H0", "enc L1 H3", "cross L0 H2", "cross L1 H3"):
        assert name in summary.toolTip()
    assert len(summary.toolTip().splitlines()) == 1 + 16  # a heading, then every head
