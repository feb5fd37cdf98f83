"""The app opens a BERT masked-LM folder: encoder attention only, no target, [CLS] first."""

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton

import engine
from tests.engine.hf_fixtures_encoders import MASKED_TEXT, encoder_folder
from visualizer import MainWindow

pytest.importorskip("transformers")

TIMEOUT = 60_000


def test_opening_a_bert_folder_shows_its_encoder_attention(qtbot, tmp_path_factory):
    folder = encoder_folder("bert", tmp_path_factory)
    window = MainWindow(checkpoint=folder)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.show()
    assert folder.name in window.windowTitle()
    kinds = window.findChild(QComboBox, "kindSelector")
    assert [kinds.itemData(i) for i in range(kinds.count())] == ["encoder"]
    target = window.findChild(QLineEdit, "targetInput")
    assert not target.isVisible() or not target.isEnabled()  # an encoder takes no target text

    text = MASKED_TEXT.format(mask="[MASK]")
    window.findChild(QLineEdit, "sourceInput").setText(text)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as shown:
        window.findChild(QPushButton, "runButton").click()
    trace = shown.args[0]
    expected = engine.load(folder).run(text)
    assert trace.source_tokens[0] == "[CLS]" and trace.source_tokens[-1] == "[SEP]"
    assert trace.source_tokens == expected.source_tokens
    assert trace.target_tokens == []

    window.state.set_selection(kind="encoder", layer=1, head=3)
    image = window.attention_view.image_item.image
    assert image.shape == (len(trace.source_tokens),) * 2
    np.testing.assert_allclose(image, expected.attention["encoder"][1, 3], atol=1e-6, rtol=0)
    window.close()
