"""Masked cells (a causal decoder's future keys) are grey in every exported figure, never a tiny weight."""

import numpy as np
import pytest
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QImage

from main import main
from tests.conftest import make_tiny_model
from tests.export_checks import assert_heatmap_png, pixel_rgb, selection_of
from visualizer.figures import GridFigure, HeatmapFigure, export_figure
from visualizer.figures.colors import MASKED_COLOR, colors_of, lookup_table
from visualizer.state.selection import layer_masks
from visualizer.state.view_state import ViewState

SOURCE = "the small cat sees the red house"
WIDTH, HEIGHT, DPI = 700, 560, 100


@pytest.fixture(scope="module")
def model():
    return make_tiny_model()


@pytest.fixture(scope="module")
def trace(model):
    return model.run(SOURCE)


def _cell_pixel(image, rect, shape, row, col):
    """The PNG pixel at the centre of cell (row, col) of a matrix drawn in ``rect`` (points)."""
    rows, cols = shape
    scale = DPI / 72
    return pixel_rgb(image, (rect.left() + (col + 0.5) * rect.width() / cols) * scale,
                     (rect.top() + (row + 0.5) * rect.height() / rows) * scale)


def test_decoder_png_is_grey_above_the_diagonal_and_the_weights_colour_below(model, trace, tmp_path):
    selection = selection_of(model, trace, "decoder", 0, 0)
    assert selection.masked is not None
    assert MASKED_COLOR not in {tuple(int(v) for v in c) for c in lookup_table("viridis")}  # unmistakable
    figure = HeatmapFigure(selection)
    path = export_figure(figure, tmp_path / "decoder.png", WIDTH, HEIGHT, DPI)
    image = QImage(str(path))
    rect = figure.layout(QSizeF(WIDTH * 72 / DPI, HEIGHT * 72 / DPI)).heatmap
    matrix = trace.attention["decoder"][0, 0]
    rows, cols = matrix.shape
    assert _cell_pixel(image, rect, matrix.shape, 0, cols - 1) == MASKED_COLOR  # query 0 never sees the end
    assert _cell_pixel(image, rect, matrix.shape, 1, 2) == MASKED_COLOR
    below = colors_of(matrix, (0.0, 1.0), "viridis")[rows - 1, 0]
    assert _cell_pixel(image, rect, matrix.shape, rows - 1, 0) == tuple(int(v) for v in below)
    assert_heatmap_png(path, figure, WIDTH, HEIGHT, DPI)  # every sampled cell, masked ones included


def test_auto_levels_of_a_masked_figure_span_the_weights_only(model, trace):
    figure = HeatmapFigure(selection_of(model, trace, "decoder", 1, 2, auto_levels=True))
    weights = figure.selection.matrix[~figure.selection.masked]
    assert figure.levels == pytest.approx((weights.min(), weights.max()))
    assert figure.levels[0] > 0  # the mask's zeros would have pulled it to 0


def test_cli_export_of_decoder_attention_greys_the_future(tiny_checkpoint, tmp_path, model):
    out = tmp_path / "dec.png"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--source", SOURCE, "--kind", "decoder",
                 "--layer", "0", "--head", "0", "--width", str(WIDTH), "--height", str(HEIGHT),
                 "--dpi", str(DPI), "--out", str(out)]) == 0
    selection = selection_of(model, model.run(SOURCE), "decoder", 0, 0)
    figure = HeatmapFigure(selection)
    image = QImage(str(out))
    rect = figure.layout(QSizeF(WIDTH * 72 / DPI, HEIGHT * 72 / DPI)).heatmap
    assert _cell_pixel(image, rect, selection.matrix.shape, 0, 1) == MASKED_COLOR
    assert_heatmap_png(out, figure, WIDTH, HEIGHT, DPI)


def test_grid_figure_greys_the_masked_cells_of_every_layer(model, trace, tmp_path):
    state = ViewState()
    state.set_model(model)
    state.set_trace(trace)
    state.set_selection(kind="decoder", layer=0, head=0)
    from visualizer.state.selection import attention_selection

    masks = layer_masks(state)
    assert len(masks) == 2 and all(mask is not None for mask in masks)
    figure = GridFigure(attention_selection(state), masks)
    width, height = 900, 600
    path = export_figure(figure, tmp_path / "grid.png", width, height, DPI)
    image = QImage(str(path))
    layout = figure.layout(QSizeF(width * 72 / DPI, height * 72 / DPI))
    stack = trace.attention["decoder"]
    shape = stack.shape[2:]
    for layer in range(stack.shape[0]):
        for head in range(stack.shape[1]):
            rect = layout.cells[layer][head]
            assert _cell_pixel(image, rect, shape, 0, shape[1] - 1) == MASKED_COLOR
            expected = colors_of(stack[layer, head], figure.levels, "viridis")[shape[0] - 1, 0]
            assert _cell_pixel(image, rect, shape, shape[0] - 1, 0) == tuple(int(v) for v in expected)


def test_a_pooled_thumbnail_block_is_grey_only_when_all_its_cells_are_masked():
    from visualizer.figures.colors import reduce_mask_for_thumbnail

    masked = np.triu(np.ones((6, 6), dtype=bool), 1)
    pooled = reduce_mask_for_thumbnail(masked, 3)  # 2 x 2 blocks
    np.testing.assert_array_equal(pooled, [[False, True, True], [False, False, True], [False, False, False]])


def test_the_state_reads_each_mask_once_and_shares_equal_ones(model, trace):
    """A causal mask is the same on every layer: one read-only array, so views skip a redraw."""
    state = ViewState()
    state.set_model(model)
    state.set_trace(trace)
    first, second = state.masked_cells("decoder", 0), state.masked_cells("decoder", 1)
    rows = len(trace.target_tokens)
    np.testing.assert_array_equal(first, np.triu(np.ones((rows, rows), dtype=bool), k=1))
    assert second is first and not first.flags.writeable
    assert state.masked_cells("cross", 0) is None and state.masked_cells("encoder", 1) is None
    short = model.run(SOURCE, "le chat")
    state.set_trace(short)
    assert state.masked_cells("decoder", 0).shape == (len(short.target_tokens),) * 2  # a new trace


def test_a_rerun_of_the_same_length_reuses_the_mask_array(model, trace):
    state = ViewState()
    state.set_model(model)
    state.set_trace(trace)
    before = state.masked_cells("decoder", 0)
    state.set_trace(model.run(SOURCE))  # the same sentence again: equal lengths, equal mask
    assert state.masked_cells("decoder", 0) is before
