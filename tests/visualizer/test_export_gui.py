"""File → Export plot / all heads / data: the files match what the attention view shows."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog

from tests.export_checks import (
    assert_csv_matches,
    assert_heatmap_png,
    assert_npz_matches,
    assert_pdf,
    pixel_rgb,
    svg_texts,
)
from tests.visualizer.conftest import PAIR
from visualizer import MainWindow
from visualizer.export.formats import FORMATS
from visualizer.figures import GridFigure, HeatmapFigure
from visualizer.figures.colors import colors_of
from visualizer.state.activation_hooks import activation_selection
from visualizer.state.selection import attention_selection
from visualizer.widgets.export_dialog import ExportDialog

TIMEOUT = 60_000
SOURCE, TARGET = PAIR


@pytest.fixture
def window(traced_window):
    """The tiny model's window after a source and target run, showing cross layer 1 head 2."""
    traced_window.state.set_selection(kind="cross", layer=1, head=2)
    return traced_window


@pytest.fixture
def exported(window, qtbot):
    """``exported(start)`` runs an export (a callable) and returns the written path once it is done:
    exports render on a worker thread."""
    def run(start) -> Path:
        with qtbot.waitSignal(window.export_actions.exported, timeout=TIMEOUT) as blocker:
            start()
        return Path(blocker.args[0])

    return run


def shown_matrix(window) -> np.ndarray:
    return np.asarray(window.attention_view.image_item.image)


def test_exported_png_has_the_requested_size_and_the_screen_colours(window, tmp_path, exported):
    window.state.set_option(colormap="magma")
    path = exported(lambda: window.export_actions.export_plot(tmp_path / "head.png", width=900, height=640,
                                                              dpi=120))
    figure = HeatmapFigure(attention_selection(window.state.core))  # the state the view draws
    np.testing.assert_array_equal(figure.selection.matrix, shown_matrix(window))
    assert figure.selection.colormap == "magma"
    assert_heatmap_png(path, figure, 900, 640, 120)
    assert "Exported" in window.statusBar().currentMessage()


def test_exported_svg_holds_token_labels_and_title_as_text(window, tmp_path, exported):
    path = exported(lambda: window.export_actions.export_plot(tmp_path / "head.svg"))
    texts = svg_texts(path)
    trace = window.state.trace
    for token in trace.source_tokens + trace.target_tokens:
        assert token in texts, token
    title = next(t for t in texts if "layer" in t)
    assert "tiny encoder-decoder" in title and "Cross-attention" in title and "head 2" in title
    assert "1" in texts and "0.5" in texts  # the colour bar's tick labels


def test_exported_pdf_is_one_valid_page(window, tmp_path, exported):
    window.state.set_selection(head="mean")
    path = exported(lambda: window.export_actions.export_plot(tmp_path / "head.pdf", width=1500, height=1000,
                                                              dpi=300))
    assert_pdf(path, title="tiny encoder-decoder — Cross-attention (decoder → encoder), layer 1, "
                           "mean of heads",
               page_points=(1500 * 72 / 300, 1000 * 72 / 300))


def test_export_all_heads_draws_every_head_of_the_kind(window, tmp_path, exported):
    path = exported(lambda: window.export_actions.export_all_heads(tmp_path / "grid.png", width=1200,
                                                                   height=700, dpi=100))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1200, 700)
    stack = window.state.trace.attention["cross"]
    figure = GridFigure(attention_selection(window.state.core))
    cells = figure.layout(QSizeF(1200 * 72 / 100, 700 * 72 / 100)).cells
    rows, cols = stack.shape[2:]
    for layer, head in [(0, 0), (1, 3), (1, 2)]:
        rect = cells[layer][head]
        for r, c in [(0, 0), (rows - 1, cols - 1)]:
            x = (rect.left() + (c + 0.5) * rect.width() / cols) * 100 / 72
            y = (rect.top() + (r + 0.5) * rect.height() / rows) * 100 / 72
            expected = colors_of(stack[layer, head, r, c], (0.0, 1.0), "viridis")
            assert pixel_rgb(image, x, y) == tuple(int(v) for v in expected), (layer, head, r, c)


def test_export_data_writes_the_matrix_on_screen_with_its_tokens(window, tmp_path, exported):
    state, trace = window.state, window.state.trace
    state.set_selection(kind="decoder", layer=0, head="max")
    state.set_option(label_rows_by_prediction=True)
    npz = exported(lambda: window.export_actions.export_data(tmp_path / "data.npz"))
    expected = trace.attention["decoder"][0].max(axis=0)
    np.testing.assert_array_equal(shown_matrix(window), expected)
    assert_npz_matches(npz, expected, trace.predicted_tokens, trace.target_tokens, kind="decoder",
                       layer=0, head="max", source=SOURCE, target=TARGET,
                       model="tiny encoder-decoder")
    state.set_option(label_rows_by_prediction=False)
    csv_path = exported(lambda: window.export_actions.export_data(tmp_path / "data.csv"))
    assert_csv_matches(csv_path, expected, trace.target_tokens, trace.target_tokens)


def test_an_unwritable_path_is_reported_with_a_dialog(window, qtbot, tmp_path):
    target = tmp_path / "no such folder" / "head.png"
    with qtbot.waitSignal(window.errorOccurred, timeout=5000) as blocker:
        assert window.export_actions.export_plot(target) > 0  # the failure is reported when it happens
    assert str(target) in blocker.args[0]
    assert str(target) in window.statusBar().currentMessage()
    box = window.error_box
    assert box is not None and box.isVisible() and str(target) in box.text()
    box.close()
    assert not target.parent.exists()


@pytest.mark.parametrize("failure", ["size", "disk"])
def test_a_failed_export_keeps_the_previous_file(window, qtbot, tmp_path, monkeypatch, failure):
    folder = tmp_path / "figures"
    folder.mkdir()
    path = folder / "head.png"
    path.write_bytes(b"the figure from yesterday")
    size = 4 if failure == "size" else 400  # 4 px is too small to draw
    if failure == "disk":
        import visualizer.export.data_files as data_export

        def disk_full(*_args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(data_export.os, "replace", disk_full)
    with qtbot.waitSignal(window.errorOccurred, timeout=5000) as blocker:
        window.export_actions.export_plot(path, width=size, height=size)
    monkeypatch.undo()
    assert ("width" if failure == "size" else "No space left") in blocker.args[0]
    window.error_box.close()
    assert path.read_bytes() == b"the figure from yesterday"
    assert [p.name for p in folder.iterdir()] == ["head.png"]  # no half-written temporary left


def test_menu_actions_open_the_dialog_and_save_what_it_says(window, tmp_path, exported, monkeypatch):
    actions = window.export_actions
    titles = [a.text() for a in window.file_menu.actions()]
    assert {"Export &plot…", "Export &all heads…", "Export &data…"} <= set(titles)
    target = tmp_path / "from-menu.svg"

    def accept_with_choices(dialog):
        dialog.path_edit.setText(str(target))
        dialog.width_spin.setValue(800)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept_with_choices)
    exported(actions.plot_action.trigger)
    assert target.exists()
    assert "Cross-attention" in " ".join(svg_texts(target))
    assert actions._last["attention"].width == 800 and actions._last["attention"].format == "svg"


def test_actions_are_disabled_until_there_is_a_trace(qtbot, tmp_path, monkeypatch):
    import visualizer.main_window as main_window

    monkeypatch.setattr(main_window, "DEFAULT_CHECKPOINT", tmp_path / "missing.safetensors")
    win = MainWindow()
    qtbot.addWidget(win)
    actions = win.export_actions
    assert not any(a.isEnabled() for a in (actions.plot_action, actions.grid_action, actions.data_action))


def test_dialog_keeps_format_path_size_and_dpi_consistent(qtbot, tmp_path):
    dialog = ExportDialog(QSizeF(400, 300), str(tmp_path / "figure.png"))
    qtbot.addWidget(dialog)
    assert (dialog.width_spin.value(), dialog.height_spin.value()) == (833, 625)  # at 150 dpi
    dialog.width_spin.setValue(1000)
    assert dialog.height_spin.value() == 750  # proportions kept
    dialog.dpi_spin.setValue(300)
    assert (dialog.width_spin.value(), dialog.height_spin.value()) == (2000, 1500)
    assert "6.7 × 5.0 in" in dialog.physical_label.text()
    dialog.format_selector.setCurrentIndex(dialog.format_selector.findData("pdf"))
    assert dialog.path_edit.text().endswith("figure.pdf")
    dialog.path_edit.setText(str(tmp_path / "other.svg"))
    assert dialog.format_selector.currentData() == "svg"
    dialog.path_edit.setText(str(tmp_path / "other.gif"))
    assert not dialog.save_button.isEnabled()
    dialog.path_edit.setText(str(tmp_path / "final.png"))
    options = dialog.options()
    assert (options.path.name, options.width, options.height, options.dpi, options.format) == (
        "final.png", 2000, 1500, 300, "png")


def test_export_follows_the_tab_in_front(window, qtbot, tmp_path, exported):
    actions, trace = window.export_actions, window.state.trace
    window.show_pane("activations")
    view = window.activation_view
    assert view.matrix is not None and view.hook
    png = exported(lambda: actions.export_plot(tmp_path / "activation.png", width=800, height=600, dpi=100))
    figure = HeatmapFigure(activation_selection(window.state.core))
    np.testing.assert_array_equal(figure.selection.matrix, view.image.image)
    assert figure.selection.colormap == "CET-D1" and figure.selection.levels[0] < 0
    assert_heatmap_png(png, figure, 800, 600, 100)
    npz = exported(lambda: actions.export_data(tmp_path / "activation.npz"))
    assert_npz_matches(npz, view.matrix, view.row_tokens, [str(i) for i in range(view.matrix.shape[1])],
                       hook=view.hook, model="tiny encoder-decoder")
    if trace.activations[view.hook].ndim == 2:
        np.testing.assert_array_equal(view.matrix, trace.activations[view.hook])

    window.show_pane("all-heads")
    texts = svg_texts(exported(lambda: actions.export_plot(tmp_path / "grid.svg")))
    assert any("Cross-attention (decoder → encoder), all 2 layers × 4 heads" in t for t in texts)
    assert {"layer 0", "layer 1", "head 0", "head 3"} <= set(texts)
    with np.load(exported(lambda: actions.export_data(tmp_path / "grid.npz"))) as data:
        np.testing.assert_array_equal(data["all_heads"], trace.attention["cross"])


def test_none_survives_many_qt_calls():
    """PySide6 6.12 on Python 3.11 drops a reference to None per void call; the guard must hold."""
    import sys

    from PySide6.QtCore import QPointF

    from visualizer.none_refcount_guard import leaks_none_references

    point = QPointF()
    for _ in range(200_000):  # more than None's ~60,000 references: unguarded, Python aborts
        point.setX(1.0)
    assert sys.getrefcount(None) > 1_000_000 or not leaks_none_references()


def test_head_lines_tab_exports_the_lines_it_draws(window, tmp_path, exported):
    import xml.etree.ElementTree as ET

    view = window.head_line_view
    window.show_pane("head-lines")
    view.all_heads.setChecked(True)
    lines = view.visible_lines()
    assert len(lines) > 10
    path = exported(lambda: window.export_actions.export_plot(tmp_path / "lines.svg"))
    drawn = []  # (colour, opacity) of every line, from the group that styles it
    for group in ET.parse(path).getroot().iter():
        for child in group:
            if child.tag.endswith("polyline"):
                drawn.append((group.get("stroke"), float(group.get("stroke-opacity", 1))))
    assert len(drawn) == len(lines)
    expected = sorted((view.color_of(int(line["head"])), float(line["weight"])) for line in lines)
    for (color, opacity), (want_color, weight) in zip(sorted(drawn), expected, strict=True):
        assert color == want_color and abs(opacity - weight) <= 1 / 255 + 1e-6
    texts = svg_texts(path)
    trace = window.state.trace
    assert set(trace.source_tokens) | set(trace.target_tokens) <= set(texts)
    assert {"head 0", "head 3", "queries", "keys"} <= set(texts)
    assert any("Cross-attention (decoder → encoder), layer 1, all heads" in t for t in texts)


def test_export_data_from_the_menu_names_the_file_and_honours_the_chosen_format(
        window, tmp_path, monkeypatch, exported):
    import visualizer.export.export_actions as export_actions

    asked = {}

    def save_as(parent, caption, suggested, filters):
        asked["suggested"] = suggested
        csv_filter = next(f.dialog_filter for f in FORMATS if f.suffix == "csv")
        return str(tmp_path / "typed-without-suffix"), csv_filter

    monkeypatch.setattr(export_actions.QFileDialog, "getSaveFileName", save_as)
    exported(window.export_actions.data_action.trigger)
    assert asked["suggested"].endswith("tiny-encoder-decoder-cross-L1-H2.npz")
    trace = window.state.trace
    assert_csv_matches(tmp_path / "typed-without-suffix.csv", trace.attention["cross"][1, 2],
                       trace.target_tokens, trace.source_tokens)


def test_exports_run_in_the_background_and_none_is_dropped(window, qtbot, tmp_path):
    actions, done = window.export_actions, []
    actions.exported.connect(done.append)
    first = actions.export_all_heads(tmp_path / "grid.svg")
    second = actions.export_plot(tmp_path / "head.png")
    assert second > first > 0  # request ids, returned before the files are written
    qtbot.waitUntil(lambda: len(done) == 2, timeout=TIMEOUT)
    assert sorted(Path(p).name for p in done) == ["grid.svg", "head.png"]


def test_closing_the_window_waits_for_a_running_export(window, tmp_path):
    target = tmp_path / "grid.pdf"
    window.export_actions.export_all_heads(target, width=3000, height=2000, dpi=300)
    window.close()
    assert_pdf(target)  # complete on disk once close returns: no thread left writing it
