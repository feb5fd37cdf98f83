"""GUI test setup: settings in a temporary folder; no test may leave a thread or a window behind."""

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from tests.conftest import make_tiny_model


@pytest.fixture(autouse=True, scope="session")
def session_settings(tmp_path_factory):
    """Windows built by module-scoped fixtures, before ``isolated_settings`` runs, keep their
    settings in a temporary folder too, never the user's real ones."""
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope,
                      str(tmp_path_factory.mktemp("session-settings")))


@pytest.fixture(autouse=True, scope="session")
def single_torch_thread():
    """Tiny models run ~10x faster on one thread on a shared 2-core machine (measured: 70 ms vs
    1 s per decode), and the GUI tests wait on many of them."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_run():
    """A tiny random model and its trace of one sentence pair, shared by the view tests."""
    model = make_tiny_model()
    return model, model.run("the small cat sleeps", "le petit chat dort")


@pytest.fixture
def window(qtbot, tiny_checkpoint):
    """A main window with the tiny model loaded and its first trace shown."""
    from visualizer import MainWindow

    win = MainWindow(checkpoint=tiny_checkpoint)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.traceChanged, timeout=60_000):  # the first load imports torch
        win.show()
    yield win
    win.close()


PAIR = ("the small cat sees a red house .", "le petit chat voit")  # a source and a target


@pytest.fixture
def traced_window(window, qtbot):
    """The tiny model's window after a run on ``PAIR`` (source and given target)."""
    with qtbot.waitSignal(window.traceChanged, timeout=60_000):
        window.run(*PAIR)
    return window


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path):
    """Recent files and other QSettings go to a fresh folder, never the user's real settings."""
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "settings"))
    yield tmp_path / "settings"


@pytest.fixture(autouse=True)
def no_leftovers(qapp):
    """Fail a test that leaves a running pool task or a visible top-level widget.

    Autouse fixtures are set up first and torn down last, so qtbot has already closed the
    widgets it was given when this check runs.
    """
    yield
    from visualizer.worker import busy_pools

    for pool in busy_pools():
        pool.waitForDone(30_000)  # drain so the next test starts clean, then report it
        pytest.fail("a test left a background task running (close the window or wait for it)")
    qapp.processEvents()
    visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for widget in visible:
        widget.close()
    if visible:
        names = ", ".join(f"{type(w).__name__}({w.objectName()!r})" for w in visible)
        pytest.fail(f"a test left visible top-level widgets: {names} (use qtbot.addWidget)")


@pytest.fixture
def tiny_decoder_only_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny-decoder.safetensors"
    make_tiny_model("decoder-only").save(path)
    return path
