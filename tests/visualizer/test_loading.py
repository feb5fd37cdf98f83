"""Opening checkpoints: a good load replaces the model; a bad one names the file and keeps the old."""

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from visualizer import MainWindow

TIMEOUT = 60_000


def test_a_good_load_replaces_the_model_and_reruns(window, qtbot, tiny_decoder_only_checkpoint):
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        window.load_checkpoint(tiny_decoder_only_checkpoint)
    assert window.state.model.config.architecture == "decoder-only"
    assert blocker.args[0].model_name == "tiny decoder-only"
    assert blocker.args[0].source_tokens == [] and blocker.args[0].target_tokens[0] == "<s>"
    assert "tiny decoder-only" in window.windowTitle()
    assert window.selection_bar.kind_selector.count() == 1
    assert window.recent_files()[0] == str(tiny_decoder_only_checkpoint.resolve())


@pytest.mark.parametrize("content, problem", [
    (b"this is not a checkpoint at all", "not a checkpoint"),
    (b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": ", "truncated"),
])
def test_a_bad_load_names_the_file_and_problem_and_keeps_the_old_model(
        window, qtbot, tmp_path, content, problem):
    old_model = window.state.model
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(content)
    with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as blocker:
        window.load_checkpoint(broken)
    message = blocker.args[0]
    assert str(broken) in message and problem in message
    box = window.error_box
    assert box is not None and box.isVisible()
    assert str(broken) in box.text() and problem in box.text()
    assert "previous model is still open" in box.text()
    box.close()
    assert window.state.model is old_model
    assert str(broken) not in [str(p) for p in window.recent_files()]
    window.input_panel.source_input.setText("the dog sleeps")
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as ran:
        window.input_panel.run_button.click()
    assert ran.args[0].source_tokens[:3] == ["the", "dog", "sleeps"]


def test_a_missing_file_is_reported(window, qtbot, tmp_path):
    missing = tmp_path / "nowhere.safetensors"
    with qtbot.waitSignal(window.errorOccurred, timeout=TIMEOUT) as blocker:
        window.load_checkpoint(missing)
    assert str(missing) in blocker.args[0] and "no such file" in blocker.args[0]
    assert "no such file" in window.statusBar().currentMessage()
    window.error_box.close()


def test_recent_files_persist_and_reopen(window, qtbot, tiny_checkpoint):
    assert window.recent_files() == [str(tiny_checkpoint.resolve())]
    second = MainWindow(checkpoint=tiny_checkpoint)
    qtbot.addWidget(second)
    assert second.recent_files()[0] == str(tiny_checkpoint.resolve())
    second.close()  # before its startup load begins: nothing left running
    window.files.fill_recent_menu()
    entries = window.files.recent_menu.actions()
    assert [a.text() for a in entries] == [str(tiny_checkpoint.resolve())]
    with qtbot.waitSignal(window.state.modelChanged, timeout=TIMEOUT):
        entries[0].trigger()


def test_open_dialog_loads_the_chosen_file(window, qtbot, monkeypatch, tiny_decoder_only_checkpoint):
    from PySide6.QtWidgets import QFileDialog

    seen = {}

    def fake_dialog(parent, caption, folder, filters):
        seen["filters"] = filters
        return str(tiny_decoder_only_checkpoint), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_dialog))
    with qtbot.waitSignal(window.state.modelChanged, timeout=TIMEOUT):
        window.files.open_checkpoint_dialog()
    assert "*.safetensors" in seen["filters"] and "*.pt" in seen["filters"] and "*.pth" in seen["filters"]
    assert window.state.model.config.architecture == "decoder-only"


def test_dropping_a_file_on_the_window_opens_it(window, qtbot, tiny_decoder_only_checkpoint):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tiny_decoder_only_checkpoint))])
    assert window.dropped_path(mime) == str(tiny_decoder_only_checkpoint)
    event = QDropEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.state.modelChanged, timeout=TIMEOUT):
        window.dropEvent(event)
    assert window.state.model.name == "tiny decoder-only"
    text_only = QMimeData()
    text_only.setText("just text")
    assert window.dropped_path(text_only) is None


def test_the_example_follows_the_model_but_typed_text_stays(window, qtbot, tmp_path, monkeypatch):
    import json

    import visualizer.startup_defaults as startup_defaults
    from tests.conftest import make_tiny_model

    examples = tmp_path / "examples.json"
    examples.write_text(json.dumps({"translator": ["the cat sees a dog"], "dates": ["the red house"]}))
    monkeypatch.setattr(startup_defaults, "EXAMPLES_FILE", examples)
    dates_path = tmp_path / "dates_tiny.safetensors"
    make_tiny_model(seed=1).save(dates_path)
    source = window.input_panel.source_input
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        window.load_checkpoint(dates_path)
    assert source.text() == "the red house"
    assert blocker.args[0].source_tokens == ["the", "red", "house", "</s>"]
    source.setText("the dog sleeps")  # typed by the user: a new model must not replace it
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT) as blocker:
        window.load_checkpoint(dates_path)
    assert source.text() == "the dog sleeps"
    assert blocker.args[0].source_tokens[:3] == ["the", "dog", "sleeps"]
