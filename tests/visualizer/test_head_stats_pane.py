"""The head-statistics pane: the overview is the statistic's array, the table sorts by value, a
click opens the head, and a corpus run shows its means, reports its progress and cancels cleanly."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from engine.head_stats import STATISTICS, head_stats
from tests.visualizer.shown_view import show_view
from visualizer.views.head_stats_table_model import SORT_ROLE
from visualizer.views.head_stats_view import HeadStatsView
from visualizer.worker import busy_pools

TRANSLATOR = Path(__file__).resolve().parents[2] / "assets" / "models" / "translator.safetensors"


@pytest.fixture
def pane(qtbot, tiny_run):
    state, view = show_view(qtbot, tiny_run, HeadStatsView, (1000, 500))
    yield state, view
    view.corpus.runner.shutdown()


def column_values(view, column: int) -> list[float]:
    proxy = view.proxy
    return [proxy.index(row, column).data(SORT_ROLE) for row in range(proxy.rowCount())]


@pytest.mark.parametrize("kind, statistic", [("decoder", "induction"), ("encoder", "entropy"),
                                             ("cross", "max_weight")])
def test_the_overview_image_is_the_chosen_statistic_of_every_head(pane, tiny_run, kind, statistic):
    state, view = pane
    state.set_selection(kind=kind)
    state.set_option(head_stat=statistic)
    expected = head_stats(tiny_run[1], kind)[statistic]
    np.testing.assert_array_equal(view.image.image, expected)
    assert view.statistic_box.currentData() == statistic
    assert view.model.columnCount() == 1 + len(STATISTICS)
    assert "this input" in view.caption.text()


def test_the_table_sorts_by_the_numbers_and_undefined_values_sort_last(pane, tiny_run):
    state, view = pane
    state.set_selection(kind="cross")
    column = view.model.column_of("mean_distance")  # NaN for every cross head
    entropy = view.model.column_of("entropy")
    view.table_view.sortByColumn(entropy, Qt.SortOrder.AscendingOrder)
    values = column_values(view, entropy)
    assert values == sorted(values) and len(values) == 2 * 4
    assert values[0] == pytest.approx(float(head_stats(tiny_run[1], "cross")["entropy"].min()))
    view.table_view.sortByColumn(view.model.column_of("max_weight"), Qt.SortOrder.DescendingOrder)
    values = column_values(view, view.model.column_of("max_weight"))
    assert values == sorted(values, reverse=True)
    first = view.proxy.index(0, 0).data()  # "cross L1 H3": the head with the highest max weight
    layer, head = np.unravel_index(np.argmax(head_stats(tiny_run[1], "cross")["max_weight"]), (2, 4))
    assert first == f"cross L{layer} H{head}"
    assert view.proxy.index(0, column).data() == "—"
    state.set_option(head_stat="induction")
    assert np.isnan(view.image.image).all()
    assert view.caption.text().endswith("induction, this input — not defined for cross-attention")


def test_hovering_a_cell_reads_its_head_and_value(pane, tiny_run):
    state, view = pane
    state.set_selection(kind="decoder")
    state.set_option(head_stat="previous_token")
    view._on_mouse_moved(view.plot.vb.mapViewToScene(QPointF(2.5, 1.5)))
    value = head_stats(tiny_run[1], "decoder")["previous_token"][1, 2]
    assert view.readout.text().startswith(f"dec L1 H2 · previous token {value:.3f}")


def test_clicking_a_cell_or_a_table_row_selects_that_head(pane, qtbot):
    state, view = pane
    state.set_selection(kind="encoder", layer=0, head=0)
    point = view.graphics.mapFromScene(view.plot.vb.mapViewToScene(QPointF(3.5, 1.5)))
    with qtbot.waitSignal(view.headActivated, timeout=2000) as blocker:
        qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(round(point.x()), round(point.y())))
    assert blocker.args == ["encoder", 1, 3]
    assert (state.kind, state.layer, state.head) == ("encoder", 1, 3)
    view.table_view.sortByColumn(view.model.column_of("diagonal"), Qt.SortOrder.DescendingOrder)
    index = view.proxy.index(2, 0)
    name = index.data()  # e.g. "enc L0 H1"
    with qtbot.waitSignal(view.headActivated, timeout=2000):
        qtbot.mouseClick(view.table_view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.table_view.visualRect(index).center())
    assert name == f"enc L{state.layer} H{state.head}"


def write_corpus(folder: Path, lines: list[str]) -> Path:
    path = folder / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_corpus_run_shows_the_mean_over_its_inputs(pane, qtbot, tmp_path, tiny_run):
    state, view = pane
    model = tiny_run[0]
    path = write_corpus(tmp_path, ["the cat sees the cat\tle chat voit le chat", "", "a zebra\tle chat",
                                   "the small dog runs\tle petit chien court"])
    state.set_selection(kind="decoder")
    state.set_option(head_stat="entropy")
    with qtbot.waitSignal(view.corpus.runner.finished, timeout=20_000):
        view.corpus.start_corpus(path)
    assert view.corpus.runner.wait(5000)
    corpus = state.head_stats_corpus
    assert corpus.n_inputs == 2
    assert corpus.problems[0].startswith("line 3: the tokenizer does not know 'zebra'")
    expected = np.mean([head_stats(model.run(s, t), "decoder")["entropy"] for s, t in
                        [("the cat sees the cat", "le chat voit le chat"),
                         ("the small dog runs", "le petit chien court")]], axis=0)
    np.testing.assert_allclose(view.image.image, expected, atol=2e-6)
    assert "mean over 2 inputs (corpus.txt)" in view.caption.text()
    assert view.corpus.status.text().startswith("2 inputs in ")
    assert "1 line skipped (line 3:" in view.corpus.status.text()
    view.corpus.this_input_button.click()  # back to the input on screen
    np.testing.assert_array_equal(view.image.image, head_stats(tiny_run[1], "decoder")["entropy"])


def test_cancelling_a_corpus_run_stops_its_thread_and_changes_nothing(pane, qtbot, tmp_path):
    state, view = pane
    lines = [f"the cat sees {'the small dog ' * (i % 5)}\tle chat" for i in range(3000)]
    path = write_corpus(tmp_path, lines)
    runner = view.corpus.runner
    with qtbot.waitSignal(runner.progressed, timeout=20_000):
        view.corpus.start_corpus(path)
    assert view.corpus.progress.isVisible() and view.corpus.cancel_button.isVisible()
    with qtbot.waitSignal(runner.cancelled, timeout=20_000):
        view.corpus.cancel_button.click()
    assert runner.wait(5000) and not busy_pools()
    assert state.head_stats_corpus is None
    assert view.corpus.status.text().startswith("Cancelled")
    assert not view.corpus.progress.isVisible()


def test_the_translator_pane_evaluates_its_heads_and_names_the_summarys_best(qtbot, tmp_path):
    import engine
    from visualizer.state.app_state import AppState

    model = engine.load(TRANSLATOR)
    state = AppState()
    state.set_model(model)
    state.set_trace(model.run("the cat sleeps", "le chat dort"))
    state.set_selection(kind="cross")
    view = HeadStatsView(state)
    qtbot.addWidget(view)
    view.show()
    assert view.corpus.evaluate_button.isVisible()
    with qtbot.waitSignal(view.corpus.runner.finished, timeout=30_000):
        view.corpus.start_evaluation(60)
    view.corpus.runner.wait(5000)
    assert view.statistic_box.findData("alignment") >= 0
    state.set_option(head_stat="alignment")
    np.testing.assert_array_equal(view.image.image, state.head_stats_corpus.alignment)
    assert view.proxy.index(0, 0).data() == "cross L0 H2"  # sorted by the chosen statistic
    assert "mean over 60 inputs (generated translation sentences, seed 0)" in view.caption.text()


def test_in_the_window_a_row_click_opens_the_attention_pane_and_every_format_exports(traced_window, qtbot,
                                                                                   tmp_path):
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QAction, QImage

    from tests.export_checks import assert_pdf, pixel_rgb, svg_texts
    from visualizer.figures.colors import colors_of
    from visualizer.figures.head_stats_figure import HeadStatsFigure
    from visualizer.state.head_stat_table import head_stat_table

    window = traced_window
    assert window.findChild(QAction, "corpusStatisticsAction").text() == "Head statistics over a &corpus…"
    window.state.set_selection(kind="decoder")
    window.state.set_option(head_stat="first_token")
    window.show_pane("head-stats")
    view = window.views["head-stats"]
    qtbot.waitExposed(view)
    expected = head_stats(window.state.trace, "decoder")
    for suffix in ("png", "svg", "pdf", "npz", "csv"):
        assert window.export_front_pane(tmp_path / f"stats.{suffix}").stat().st_size > 0
    with np.load(tmp_path / "stats.npz", allow_pickle=False) as data:
        for name in STATISTICS:
            np.testing.assert_array_equal(data[name], expected[name])
        np.testing.assert_array_equal(data["matrix"], expected["entropy"])
        assert str(data["kind"]) == "decoder" and str(data["statistics_over"]) == "this input"
    rows = (tmp_path / "stats.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "layer \\ head,H0,H1,H2,H3"
    second_layer = [float(v) for v in rows[2].split(",")[1:]]
    assert second_layer == pytest.approx(expected["entropy"][1].tolist(), abs=1e-7)
    figure = HeadStatsFigure(head_stat_table(window.state.core))
    image = QImage(str(tmp_path / "stats.png"))
    rect = figure.layout(QSizeF(image.width() * 72 / 150, image.height() * 72 / 150)).heatmap
    colors = colors_of(expected["first_token"], (0.0, 1.0), "viridis")
    for layer, head in ((0, 0), (1, 3), (1, 1)):  # the top-left corner of each cell, clear of its text
        x = (rect.left() + (head + 0.1) * rect.width() / 4) * 150 / 72
        y = (rect.top() + (layer + 0.1) * rect.height() / 2) * 150 / 72
        assert pixel_rgb(image, x, y) == tuple(int(v) for v in colors[layer, head])
    assert f"{expected['first_token'][1, 2]:.3f}" in svg_texts(tmp_path / "stats.svg")
    assert_pdf(tmp_path / "stats.pdf")
    index = view.proxy.index(0, 0)
    with qtbot.waitSignal(view.headActivated, timeout=2000) as blocker:
        qtbot.mouseClick(view.table_view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.table_view.visualRect(index).center())
    kind, layer, head = blocker.args
    assert window.state.front_pane == "attention"
    np.testing.assert_array_equal(window.attention_view.image_item.image,
                                  window.state.trace.attention[kind][layer, head])


def test_closing_the_window_during_a_corpus_run_leaves_no_thread(traced_window, qtbot, tmp_path):
    window = traced_window
    path = write_corpus(tmp_path, [f"the cat sees {'a red house ' * (i % 6)}" for i in range(3000)])
    runner = window.views["head-stats"].corpus.runner
    with qtbot.waitSignal(runner.progressed, timeout=20_000):
        window.views["head-stats"].corpus.start_corpus(path)
    window.close()  # the job stops before its next batch, and close waits for it
    assert runner.wait(0) and not busy_pools()  # idle the moment close returns
    assert window.state.head_stats_corpus is None
