"""A byte-level model's tokens read as text everywhere: "ĠcafÃ©" is "·café" on the axes, chips,
hovers, figures and CSV headers, while the trace and the NPZ keep the tokenizer's own pieces, and
every hover names the token's position so repeated words can be told apart."""

import csv

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF

from engine.readable_tokens import readable_tokens
from tests.byte_level import byte_level_model
from tests.export_checks import svg_texts
from tests.visualizer.shown_view import show_then_feed, show_view
from visualizer.export.data_files import export_data
from visualizer.figures.output import export_figure
from visualizer.panes import pane_named
from visualizer.state.view_state import ViewState

SOURCE = "the café 🙂 the cat sees the cat"
TARGET = "le café 🎉 le chat"  # 🎉 is not in the tokenizer's corpus: its bytes are split
SOURCE_LABELS = ["the", "·café", "·🙂", "·the", "·cat", "·se", "es", "·the", "·cat", "</s>"]
BYTE_LEVEL_MARKS = ("Ġ", "Ã", "ð", "Ł")  # how "·", "é" and emoji bytes look as raw pieces


@pytest.fixture(scope="module")
def run():
    model = byte_level_model()
    return model, model.run(SOURCE, TARGET)


@pytest.fixture
def state(run):
    state = ViewState()
    state.set_model(run[0])
    state.set_trace(run[1])
    return state


def target_labels(trace) -> list[str]:
    return readable_tokens(trace.target_tokens, "byte-level")


def test_the_trace_keeps_the_tokenizers_pieces_and_the_state_labels_them_as_text(run, state):
    model, trace = run
    assert trace.token_style == "byte-level"
    assert trace.source_tokens == model.tokenizer.encode(SOURCE).tokens  # the tokenizer's own
    assert trace.source_tokens[1:3] == ["ĠcafÃ©", "ĠðŁĻĤ"]
    assert state.token_labels("source") == SOURCE_LABELS
    assert "".join(SOURCE_LABELS[:-1]) == SOURCE.replace(" ", "·")  # nothing lost, no mojibake
    # A character split across pieces shows its bytes, never a wrong character.
    assert trace.target_tokens[3:6] == ["ĠðŁ", "İ", "ī"]
    assert state.token_labels("target")[1:7] == ["le", "·café", "·\\xf0\\x9f", "\\x8e", "\\x89", "·le"]
    assert state.key_labels("cross") == SOURCE_LABELS and state.key_pieces("cross") == trace.source_tokens
    assert state.query_labels("cross") == target_labels(trace)
    assert state.query_pieces("cross") == trace.target_tokens


def test_rows_labelled_by_prediction_are_readable_too(run, state):
    trace = run[1]
    state.set_option(label_rows_by_prediction=True)
    assert state.query_pieces("decoder") == trace.predicted_tokens
    assert state.query_labels("decoder") == readable_tokens(trace.predicted_tokens, "byte-level")
    assert state.token_labels("predicted") == state.query_labels("decoder")


def test_attention_axes_show_text_and_the_readout_names_each_position(qtbot, run):
    from visualizer.views.attention_view import AttentionView

    model, trace = run
    view = show_then_feed(qtbot, AttentionView, (900, 700), model, trace)
    view.state.set_selection(kind="encoder", layer=1, head=2)
    assert view.left_axis.tokens() == view.bottom_axis.tokens() == SOURCE_LABELS
    weights = trace.attention["encoder"][1, 2]
    for col in (3, 7):  # "·the" twice: only the position tells them apart
        scene_pos = view.plot.vb.mapViewToScene(QPointF(col + 0.5, 4 + 0.5))
        view._on_mouse_moved(scene_pos)
        assert view.readout.text() == f'"·cat" #4 → "·the" #{col}: {format(float(weights[4, col]), ".3g")}'
    view.state.set_selection(kind="cross")
    assert view.left_axis.tokens() == target_labels(trace)
    assert view.readout.text().startswith(f'"{target_labels(trace)[4]}" #4 → "·the" #7: ')


def test_token_chips_read_as_text_and_their_tooltips_add_piece_and_id(qtbot, run):
    from visualizer.widgets.token_chips import TokenChips

    model, trace = run
    chips = show_then_feed(qtbot, TokenChips, (500, 300), model, trace)
    drawn = {side: [text for s, _position, _rect, text in chips.layout_now().chips if s == side]
             for side in ("source", "target")}
    assert drawn == {"source": SOURCE_LABELS, "target": target_labels(trace)}
    assert not any(mark in text for text in drawn["source"] for mark in BYTE_LEVEL_MARKS)
    tip = chips.tooltip_at(chips.chip_rect("source", 1).center())
    assert tip == f'source "·café" #1 · "ĠcafÃ©" (id {trace.source_ids[1]})'
    assert chips.tooltip_at(chips.chip_rect("source", 0).center()) == 'source "the" #0'  # reads as is
    assert chips.tooltip_at(chips.chip_rect("source", 7).center()).startswith('source "·the" #7 · "Ġthe"')


def test_figures_draw_the_readable_tokens(run, state, tmp_path):
    trace = run[1]
    state.set_selection(kind="cross", layer=0, head=1)
    for pane in ("attention", "head-lines", "depth"):
        texts = svg_texts(export_figure(pane_named(pane).figure(state), tmp_path / f"{pane}.svg"))
        assert not any(mark in text for text in texts for mark in BYTE_LEVEL_MARKS), pane
        if pane == "depth":  # the cross kind's query stack, the decoder: a legend entry a token
            assert {f"{label} ({i})" for i, label in enumerate(target_labels(trace))} <= set(texts)
        else:  # Qt draws the emoji in a fallback font: "·" and "🙂" are two text runs
            labels = set(SOURCE_LABELS) - {"·🙂"} | set(target_labels(trace))
            assert labels <= set(texts) and "·🙂" in "".join(texts), pane


def _csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def test_csv_shows_readable_tokens_and_npz_keeps_the_pieces(run, state, tmp_path):
    trace = run[1]
    state.set_selection(kind="cross", layer=1, head=0)
    table = pane_named("attention").data(state)
    rows = _csv(export_data(table, tmp_path / "cross.csv"))
    assert rows[0][1:] == SOURCE_LABELS and [row[0] for row in rows[1:]] == target_labels(trace)
    with np.load(export_data(table, tmp_path / "cross.npz"), allow_pickle=False) as data:
        assert data["key_tokens"].tolist() == trace.source_tokens
        assert data["query_tokens"].tolist() == trace.target_tokens
        np.testing.assert_array_equal(data["matrix"], trace.attention["cross"][1, 0])

    state.set_selection(hook="encoder.0.resid_post")
    table = pane_named("activations").data(state)
    assert [row[0] for row in _csv(export_data(table, tmp_path / "act.csv"))[1:]] == SOURCE_LABELS
    with np.load(export_data(table, tmp_path / "act.npz"), allow_pickle=False) as data:
        assert data["query_tokens"].tolist() == trace.source_tokens
        assert data["key_tokens"].tolist() == [str(i) for i in range(32)]  # features: d_model

    state.set_option(depth_stack="decoder")
    table = pane_named("depth").data(state)
    assert [row[0] for row in _csv(export_data(table, tmp_path / "depth.csv"))[1:]] == target_labels(trace)
    with np.load(export_data(table, tmp_path / "depth.npz"), allow_pickle=False) as data:
        assert data["tokens"].tolist() == trace.target_tokens


def test_activation_rows_read_as_text_and_their_hover_names_the_position(qtbot, run):
    from visualizer.views.activation_view import ActivationView

    model, trace = run
    view = show_then_feed(qtbot, ActivationView, (700, 500), model, trace)
    view.state.set_selection(hook="encoder.1.resid_post")
    assert view.row_tokens == SOURCE_LABELS
    view.graphics.scene().sigMouseMoved.emit(view.image.mapToScene(2.5, 8.5))  # row 8, feature 2
    value = format(float(trace.activations["encoder.1.resid_post"][8, 2]), ".3g")
    assert view.graphics.toolTip() == f'"·cat" #8 · feature 2: {value}'


def test_depth_plots_name_the_highlighted_token_and_its_position(qtbot, run):
    from visualizer.views.depth_plot_view import DepthPlotView

    view = show_then_feed(qtbot, DepthPlotView, (700, 500), *run)
    assert view.tokens == SOURCE_LABELS
    assert "·café (1)" in view.legend_names()
    view.state.set_hover("source", 4)
    assert view.caption.text().startswith('Highlighted: "·cat" #4 of 10 encoder tokens')


def test_head_lines_read_as_text_and_their_tooltip_names_the_position(qtbot, run):
    from visualizer.views.head_line_view import HeadLineView

    state, view = show_view(qtbot, run, HeadLineView, (600, 500))
    state.set_selection(kind="encoder", layer=0, head=0)
    assert view.query_tokens == view.key_tokens == SOURCE_LABELS
    _left, right = view.canvas.column_rects()
    qtbot.mouseMove(view.canvas, QPoint(int(right.center().x()), int(view.canvas.row_y(7))))
    qtbot.waitUntil(lambda: view.isolated == ("key", 7), timeout=2000)
    assert view.canvas.toolTip() == 'key "·the" #7'


def test_the_head_grid_tooltip_names_both_positions(qtbot, run):
    from visualizer.views.head_grid_view import HeadGridView

    model, trace = run
    view = show_then_feed(qtbot, HeadGridView, (700, 500), model, trace)
    view.state.set_selection(kind="encoder")
    row0, col0 = view.tile_origin(1, 3)
    weight = format(float(trace.attention["encoder"][1, 3, 4, 1]), ".3g")
    assert f'"·cat" #4 → "·café" #1: {weight}' in view.describe_point(col0 + 1.5, row0 + 4.5)
