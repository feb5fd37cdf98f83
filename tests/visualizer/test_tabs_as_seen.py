"""The window as a user sees it while going through the tabs: nothing jumps, nothing overlaps,
and an empty map says how to fill it."""

import pytest
from PySide6.QtGui import QFontMetricsF

from tests.visualizer.conftest import PAIR

TIMEOUT = 60_000
LONG_TARGET = " ".join([PAIR[1]] * 8)  # 33 decoder positions: narrow lens cells at 1400 px


@pytest.fixture(scope="module")
def shared_window(qapp, tiny_checkpoint, tmp_path_factory):
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from visualizer import MainWindow

    # Before the per-test settings exist: the window must neither read nor write the user's layout.
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path_factory.mktemp("settings")))

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
    qtbot.waitUntil(lambda: bool(view._texts) and view.plot.vb.width() > 400, timeout=TIMEOUT)
    cell = view.plot.vb.width() / view.grid.matrix.shape[1]
    texts = [item.textItem.toPlainText() for item in view._texts]
    widths = [QFontMetricsF(item.textItem.font()).horizontalAdvance(t)
              for item, t in zip(view._texts, texts, strict=True)]
    assert cell < 40 and max(widths) <= cell
    assert any(texts)  # cut, not dropped: two characters and more still show
    sizes = shown.splitter.sizes()
    narrowest = shown.splitter.widget(1).minimumSizeHint().width()
    shown.splitter.setSizes([sum(sizes) - narrowest, narrowest])  # narrower cells: cut again
    qtbot.waitUntil(lambda: view.plot.vb.width() / view.grid.matrix.shape[1] < cell * 0.95, timeout=5000)
    narrow = view.plot.vb.width() / view.grid.matrix.shape[1]
    assert all(QFontMetricsF(item.textItem.font()).horizontalAdvance(item.textItem.toPlainText()) <= narrow
               for item in view._texts)
    shown.splitter.setSizes(sizes)
    with qtbot.waitSignal(shown.traceChanged, timeout=TIMEOUT):
        shown.run(*PAIR)


def test_rollout_hint_names_what_works_on_its_tab(shown):
    shown.show_pane("rollout")
    readout = shown.views["rollout"].readout
    readout_text = readout.text()
    assert readout_text.startswith("Hover a cell for its rolled-out weight") and "←/→" not in readout_text


def shown_texts(page) -> list[str]:
    """What a tab page says in words: its visible labels and its plots' titles."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QLabel

    texts = [label.text() for label in page.findChildren(QLabel) if label.isVisibleTo(page)]
    for view in page.findChildren(pg.GraphicsView):
        texts += [item.titleLabel.text for item in view.scene().items() if isinstance(item, pg.PlotItem)]
    return texts


def test_with_no_model_every_tab_says_how_to_open_one(qtbot, monkeypatch, tmp_path):
    import visualizer.main_window as main_window

    monkeypatch.setattr(main_window, "DEFAULT_CHECKPOINT", tmp_path / "absent.safetensors")
    window = main_window.MainWindow(show_dialogs=False)
    qtbot.addWidget(window)
    for index, pane in enumerate(window.panes):
        window.show_pane(pane.name)  # a tab's view is built when it is first shown
        texts = shown_texts(window.view_tabs.widget(index))
        assert any("No model open yet (File → Open checkpoint…)" in text for text in texts), pane.name
