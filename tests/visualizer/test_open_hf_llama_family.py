"""The app opens decoder LLM folders (Qwen3, Llama, Mistral): their facts, and their heads."""

import html

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

import engine
from tests.engine.hf_fixtures_llama_family import WINDOW, family_folder
from visualizer import MainWindow
from visualizer.widgets.input_panel import model_facts

pytest.importorskip("transformers")

TIMEOUT = 60_000
PROMPT = "The small cat sleeps near the window."


@pytest.fixture(scope="module")
def qwen3(tmp_path_factory):
    folder = family_folder("qwen3", tmp_path_factory)
    return folder, engine.load(folder)


def test_qwen3_facts_name_family_heads_norms_dtype_and_rotary_base(qwen3):
    _, model = qwen3
    facts = dict(model_facts(model))
    assert facts["Family"] == "Qwen3"
    assert facts["Heads"] == "4 query heads share 2 key/value heads (2 per group)"
    assert facts["Blocks"] == "RMSNorm on each head's q and k"
    assert facts["dtype"] == "float32 on disk, float32 compute"
    assert facts["Positions"] == "rotary (θ 1,000,000)"
    assert facts["Layers × heads"] == "2 × 4"
    count = sum(p.numel() for p in model.module.parameters())
    assert facts["Parameters"] == f"{count / 1e3:.1f} k" and "Attention" not in facts  # no window


def test_llama_and_mistral_facts_show_rope_scaling_and_local_layers(tmp_path_factory):
    llama = dict(model_facts(engine.load(family_folder("llama", tmp_path_factory))))
    assert llama["Positions"] == "rotary (θ 10,000, llama3 scaling ×4 from 16 positions)"
    mistral = dict(model_facts(engine.load(family_folder("mistral", tmp_path_factory))))
    assert mistral["Attention"] == f"every layer local (last {WINDOW} tokens)"
    assert mistral["Heads"] == "4 query heads share 1 key/value head (4 per group)"


def test_the_window_opens_qwen3_and_shows_its_decoder_self_attention_heads(qtbot, qwen3):
    folder, model = qwen3
    window = MainWindow(checkpoint=folder)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.show()
    assert folder.name in window.windowTitle()
    shown = html.unescape(window.findChild(QLabel, "modelFacts").text())
    assert "4 query heads share 2 key/value heads" in shown and "Qwen3" in shown
    kinds = window.findChild(QComboBox, "kindSelector")
    assert [kinds.itemData(i) for i in range(kinds.count())] == ["decoder"]
    heads = window.findChild(QComboBox, "headSelector")
    assert [heads.itemText(i) for i in range(4)] == ["Head 0 (kv 0)", "Head 1 (kv 0)",
                                                     "Head 2 (kv 1)", "Head 3 (kv 1)"]
    window.findChild(QLineEdit, "sourceInput").setText(PROMPT)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as run:
        window.findChild(QPushButton, "runButton").click()
    trace = run.args[0]
    expected = model.run(PROMPT)
    assert trace.target_tokens == expected.target_tokens
    window.state.set_selection(kind="decoder", layer=1, head=3)
    image = window.attention_view.image_item.image
    assert image.shape == (len(trace.target_tokens),) * 2
    np.testing.assert_allclose(image, expected.attention["decoder"][1, 3], atol=1e-6, rtol=0)
    window.close()
