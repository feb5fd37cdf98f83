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
