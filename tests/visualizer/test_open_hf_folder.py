"""The app opens Hugging Face model folders (Marian, BART, T5) and shows their cross-attention."""

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton

import engine
from tests.engine.hf_fixtures import FAMILIES, SOURCE, TARGET, hf_folder
from visualizer import MainWindow

pytest.importorskip("transformers")

TIMEOUT = 60_000


@pytest.mark.parametrize("family", FAMILIES)
def test_opening_a_folder_shows_its_cross_attention(qtbot, tmp_path_factory, family):
    folder = hf_folder(family, tmp_path_factory)
    window = MainWindow(checkpoint=folder)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.show()
    assert folder.name in window.windowTitle()
    kinds = window.findChild(QComboBox, "kindSelector")
    assert [kinds.itemData(i) for i in range(kinds.count())] == ["encoder", "decoder", "cross"]
    assert kinds.currentData() == "cross"  # a translator opens on its most telling view

    window.findChild(QLineEdit, "sourceInput").setText(SOURCE)
    window.findChild(QLineEdit, "targetInput").setText(TARGET)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as shown:
        window.findChild(QPushButton, "runButton").click()
    trace = shown.args[0]
    expected = engine.load(folder).run(SOURCE, TARGET)
    assert trace.source_tokens == expected.source_tokens
    assert trace.target_tokens == expected.target_tokens

    window.state.set_selection(kind="cross", layer=1, head=2)
    image = window.attention_view.image_item.image
    # Rows are the decoder's positions, columns the encoder's: [T, S], as the trace has it.
    assert image.shape == (len(trace.target_tokens), len(trace.source_tokens))
    np.testing.assert_allclose(image, expected.attention["cross"][1, 2], atol=1e-6, rtol=0)
    window.close()
