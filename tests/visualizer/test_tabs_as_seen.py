"""The window as a user sees it while going through the tabs: nothing jumps, nothing overlaps,
and an empty map says how to fill it."""

import pytest
from PySide6.QtGui import QFontMetricsF

from tests.visualizer.conftest import PAIR

TIMEOUT = 60_000
LONG_TARGET = " ".join([PAIR[1]] * 8)  # 33 decoder positions: narrow lens cells at 1400 px


@pytest.fixture(scope="module")
def shared_window(qapp, tiny_checkpoint):
    from PySide6.QtCore import QEventLoop, QTimer

    from visualizer import MainWindow

    def until_idle(win):
        loop = QEventLoop()
        win.controller.busyChanged.connect(lambda busy, _text: busy or loop.quit())
        QTimer.singleShot(TIMEOUT, loop.quit)
        loop.exec()

    win = MainWindow(checkpoint=tiny_checkpoint)
    win.load_checkpoint(tiny_checkpoint)
    until_idle(win)
    win.run(*PAIR)
    until_idle(win)
    assert win.state.trace_inputs == PAIR
    yield win
    for name in ("head-importance", "patching"):
        win.views[name].controller.shutdown()
    win.close()
    win.deleteLater()
    qapp.processEvents()


@pytest.fixture
def shown(shared_window, qtbot):
    window = shared_window
    window.show_pane("attention")
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.views["head-importance"].controller.shutdown()
    window.show_pane("attention")
    window.hide()


def test_going_through_the_tabs_never_moves_the_input_panel(shown, qapp):
    """A caption that cannot wrap used to widen the tabs and squeeze the input panel."""
    qapp.processEvents()
    sizes = shown.splitter.sizes()
    for pane in shown.panes:
        shown.show_pane(pane.name)
        qapp.processEvents()
        assert shown.splitter.sizes() == sizes, pane.name


def test_empty_sweep_maps_say_how_to_fill_them(shared_window):
    patching, importance = shared_window.views["patching"], shared_window.views["head-importance"]
    importance.controller.shutdown()
    shared_window.state.core.__dict__.get("sweeps", {}).clear()  # no sweep has run for this input
    patching.redraw()
    importance.redraw()
    assert "Run patching" in patching.residual_map.plot.titleLabel.text
    assert "each head" in patching.head_map.plot.titleLabel.text
    assert "Run sweep" in importance.map.plot.titleLabel.text


def test_lens_cell_tokens_fit_their_cells(shown, qtbot):
    with qtbot.waitSignal(shown.traceChanged, timeout=TIMEOUT):
        shown.run(PAIR[0], LONG_TARGET)
    shown.show_pane("logit-lens")
    view = shown.views["logit-lens"]
    qtbot.waitUntil(lambda: bool(view._texts), timeout=TIMEOUT)
    cell = view.plot.vb.width() / view.grid.matrix.shape[1]
    texts = [item.textItem.toPlainText() for item in view._texts]
    widths = [QFontMetricsF(item.textItem.font()).horizontalAdvance(t)
              for item, t in zip(view._texts, texts, strict=True)]
    assert cell < 40 and max(widths) <= cell
    assert any(texts)  # cut, not dropped: two characters and more still show
    shown.resize(700, 900)  # narrower cells: the texts are cut again
    qtbot.waitUntil(lambda: view.plot.vb.width() / view.grid.matrix.shape[1] < cell * 0.8, timeout=5000)
    narrow = view.plot.vb.width() / view.grid.matrix.shape[1]
    assert all(QFontMetricsF(item.textItem.font()).horizontalAdvance(item.textItem.toPlainText()) <= narrow
               for item in view._texts)
    with qtbot.waitSignal(shown.traceChanged, timeout=TIMEOUT):
        shown.run(*PAIR)
