"""The app opens a Hugging Face GPT-2 folder: one decoder stack, its prompt continued."""

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton

import engine
from tests.engine.hf_fixtures_gpt2 import gpt2_folder
from visualizer import MainWindow

pytest.importorskip("transformers")

TIMEOUT = 60_000
PROMPT = "naïve café 🙂 and the small cat"


def test_opening_a_gpt2_folder_shows_its_decoder_attention(qtbot, tmp_path_factory):
    folder = gpt2_folder("gpt2", tmp_path_factory)
    window = MainWindow(checkpoint=folder)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.show()
    assert folder.name in window.windowTitle()
    kinds = window.findChild(QComboBox, "kindSelector")
    assert [kinds.itemData(i) for i in range(kinds.count())] == ["decoder"]

    window.findChild(QLineEdit, "sourceInput").setText(PROMPT)
    window.findChild(QLineEdit, "targetInput").setText("")
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as shown:
        window.findChild(QPushButton, "runButton").click()
    trace = shown.args[0]
    model = engine.load(folder)
    expected = model.run(PROMPT)  # the window's default budget is the engine's
    assert trace.source_tokens == [] and trace.token_style == "byte-level"
    assert trace.target_tokens == expected.target_tokens
    assert len(trace.target_tokens) == len(model.tokenizer.encode(PROMPT).ids) + 20

    window.state.set_selection(kind="decoder", layer=1, head=3)
    image = window.attention_view.image_item.image
    assert image.shape == (len(trace.target_tokens),) * 2
    np.testing.assert_allclose(image, expected.attention["decoder"][1, 3], atol=1e-6, rtol=0)
    window.close()
