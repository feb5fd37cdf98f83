"""The app opens a Gemma 2 folder: its facts say which layers are local and that it soft-caps,
and a local layer's head shows exactly the window the engine computed."""

import html

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

import engine
from tests.engine.hf_fixtures_gemma import WINDOW, gemma_folder
from visualizer import MainWindow

pytest.importorskip("transformers")

TIMEOUT = 60_000
PROMPT = "The committee will meet on Monday, 4 March 2024."


def test_the_window_opens_gemma2_and_shows_a_local_head(qtbot, tmp_path_factory):
    folder = gemma_folder("gemma2", tmp_path_factory)
    window = MainWindow(checkpoint=folder)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.show()
    shown = html.unescape(window.findChild(QLabel, "modelFacts").text())
    assert "Gemma 2" in shown
    assert f"layers 0, 2 local (last {WINDOW} tokens); 1, 3 global" in shown
    assert "attention scores at ±5; logits at ±8" in shown
    heads = window.findChild(QComboBox, "headSelector")
    assert heads.itemText(3) == "Head 3 (kv 1)"
    window.findChild(QLineEdit, "sourceInput").setText(PROMPT)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as run:
        window.findChild(QPushButton, "runButton").click()
    trace = run.args[0]
    expected = engine.load(folder).run(PROMPT)
    assert trace.target_tokens == expected.target_tokens
    window.state.set_selection(kind="decoder", layer=2, head=1)
    image = window.attention_view.image_item.image
    np.testing.assert_allclose(image, expected.attention["decoder"][2, 1], atol=1e-6, rtol=0)
    length = image.shape[0]
    assert length > 2 * WINDOW
    assert np.all(image[np.tril(np.ones((length, length), bool), -WINDOW)] == 0.0)
    window.close()
