"""The all-heads grid: thumbnails equal the trace, a click opens the right head."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.visualizer.shown_view import show_view
from visualizer.state.app_state import AppState
from visualizer.views.head_grid_view import HeadGridView
from visualizer.views.head_mosaic import build_mosaic, pool_patterns


@pytest.fixture
def grid(qtbot, tiny_run):
    return show_view(qtbot, tiny_run, HeadGridView, (700, 500))


def test_every_thumbnail_is_its_heads_pattern(grid, tiny_run):
    state, view = grid
    trace = tiny_run[1]
    for kind in ("encoder", "decoder", "cross"):
        state.set_selection(kind=kind)
        stack = trace.attention[kind]
        assert view.mosaic is not None
        for layer in range(stack.shape[0]):
            for head in range(stack.shape[1]):
                np.testing.assert_array_equal(view.thumbnail(layer, head), stack[layer, head])
        # the image on screen is the mosaic, and the gaps between tiles are transparent (NaN)
        np.testing.assert_array_equal(view.image.image, view.mosaic)
        assert np.isnan(view.mosaic).sum() > 0


def test_cross_thumbnails_keep_rows_as_decoder_queries(grid, tiny_run):
    state, view = grid
    trace = tiny_run[1]
    state.set_selection(kind="cross")
    assert view.tile_shape == (len(trace.target_tokens), len(trace.source_tokens))


def test_long_sequences_are_max_pooled_so_peaks_stay_visible():
    stack = np.zeros((1, 1, 10, 10), dtype=np.float32)
    stack[0, 0, 7, 2] = 0.9
    pooled = pool_patterns(stack, max_side=4)
    assert pooled.shape == (1, 1, 4, 4)  # ceil(10/3) blocks of 3
    assert pooled[0, 0, 2, 0] == pytest.approx(0.9)
    assert pooled.max() == pytest.approx(0.9)


def test_mosaic_places_tiles_row_by_layer_and_column_by_head():
    tiles = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    mosaic = build_mosaic(tiles, gap=1)
    assert mosaic.shape == (2 * 3 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(mosaic[3:5, 6:8], tiles[1, 2])
    assert np.isnan(mosaic[2]).all()


def _click_tile(qtbot, view, layer, head):
    rows, cols = view.tile_shape
    row, col = view.tile_origin(layer, head)
    scene_point = view.image.mapToScene(col + cols / 2, row + rows / 2)
    widget_point = view.graphics.mapFromScene(scene_point)
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(
        round(widget_point.x()), round(widget_point.y())))


def test_clicking_a_thumbnail_selects_that_head_and_announces_it(qtbot, grid):
    state, view = grid
    state.set_selection(kind="decoder", layer=0, head=0)
    with qtbot.waitSignal(view.headActivated, timeout=2000) as blocker:
        _click_tile(qtbot, view, layer=1, head=2)
    assert blocker.args == ["decoder", 1, 2]
    assert (state.kind, state.layer, state.head) == ("decoder", 1, 2)


def test_selected_head_is_outlined(grid):
    state, view = grid
    state.set_selection(kind="encoder", layer=1, head=3)
    rect = view.highlight.rect()
    row, col = view.tile_origin(1, 3)
    assert view.highlight.isVisible()
    assert rect.contains(col + 0.5, row + 0.5) and rect.width() < view.tile_shape[1] + 2
    state.set_selection(head="mean")  # mean of heads: the whole layer row is outlined
    assert view.highlight.rect().width() >= view.mosaic.shape[1]


def test_kind_and_levels_follow_the_state(grid):
    state, view = grid
    state.set_selection(kind="encoder")
    assert view.caption.text().startswith("Encoder self-attention: 2 layers × 4 heads")
    assert tuple(view.image.levels) == (0.0, 1.0)
    state.set_option(auto_levels=True)
    assert tuple(view.image.levels) == pytest.approx(
        (np.nanmin(view.mosaic), np.nanmax(view.mosaic)))


def test_hidden_grid_draws_when_shown(qtbot, tiny_run):
    model, trace = tiny_run
    state = AppState()
    state.set_model(model)
    view = HeadGridView(state)
    qtbot.addWidget(view)
    state.set_trace(trace)
    assert view.mosaic is None  # nothing computed while hidden
    view.show()
    qtbot.waitExposed(view)
    np.testing.assert_array_equal(view.thumbnail(0, 0), trace.attention[state.kind][0, 0])


def test_a_hovered_token_is_marked_in_every_thumbnail(grid):
    state, view = grid
    state.set_selection(kind="cross")
    state.set_hover("target", 2)  # a decoder token: a query row of cross-attention
    xs, ys = view.hover_marks.getData()
    tiles = 2 * 4
    assert np.isfinite(ys).sum() == 2 * tiles  # one horizontal segment per thumbnail
    row, col = view.tile_origin(1, 3)
    assert row + 2.5 in set(ys[np.isfinite(ys)].tolist())
    state.set_hover("source", 4)  # an encoder token: a key column
    xs, ys = view.hover_marks.getData()
    assert col + 4.5 in set(xs[np.isfinite(xs)].tolist())
    assert np.isfinite(xs).sum() == 2 * tiles
    state.set_selection(kind="encoder")  # encoder tokens are both queries and keys: a cross-hair
    assert np.isfinite(view.hover_marks.getData()[0]).sum() == 4 * tiles
    state.set_hover("source", -1)
    assert len(view.hover_marks.getData()[0] if view.hover_marks.getData()[0] is not None else []) == 0


def test_tooltip_names_the_head_and_the_weight_under_the_mouse(grid, tiny_run):
    state, view = grid
    trace = tiny_run[1]
    state.set_selection(kind="cross")
    row, col = view.tile_origin(1, 2)
    text = view.describe_point(col + 3.5, row + 4.5)  # query 4, key 3 of layer 1, head 2
    weight = trace.attention["cross"][1, 2, 4, 3]
    assert text.startswith("layer 1, head 2")
    weight = format(float(weight), ".3g")
    assert f'"{trace.target_tokens[4]}" #4 → "{trace.source_tokens[3]}" #3: {weight}' in text
    assert view.describe_point(-5, -5) == ""


def _screen_rgb(view, x, y):
    """The colour the screen shows at a mosaic point."""
    image = view.graphics.grab().toImage()
    point = view.graphics.mapFromScene(view.image.mapToScene(x, y))
    color = image.pixelColor(point.x(), point.y())
    return color.red(), color.green(), color.blue()


def test_masked_cells_are_grey_in_every_decoder_thumbnail(grid, tiny_run):
    from visualizer.figures.colors import MASKED_COLOR, colors_of

    state, view = grid
    trace = tiny_run[1]
    state.set_selection(kind="decoder", layer=0, head=0)
    stack = trace.attention["decoder"]
    queries, keys = stack.shape[2:]
    view.resize(900, 800)  # thumbnail cells of several screen pixels
    for layer in range(stack.shape[0]):
        mask = state.masked_cells("decoder", layer)
        for head in range(stack.shape[1]):
            row, col = view.tile_origin(layer, head)
            np.testing.assert_array_equal(view.masked[row: row + queries, col: col + keys], mask)
            np.testing.assert_array_equal(view.thumbnail(layer, head), stack[layer, head])  # exact weights
    row, col = view.tile_origin(1, 2)
    assert _screen_rgb(view, col + keys - 0.5, row + 0.5) == MASKED_COLOR  # query 0, the last key
    weight_color = colors_of(stack[1, 2], (0.0, 1.0), "viridis")[queries - 1, 0]
    assert _screen_rgb(view, col + 0.5, row + queries - 0.5) == tuple(int(v) for v in weight_color)
    assert view.describe_point(col + keys - 0.5, row + 0.5).split("\n")[1].endswith(": masked")
    assert "Grey: masked" in view.caption.text()
    state.set_option(auto_levels=True)  # the levels span the weights, not the mask's zeros
    weights = stack[np.broadcast_to(~np.stack([state.masked_cells("decoder", i) for i in range(2)])[:, None],
                                    stack.shape)]
    assert tuple(view.image.levels) == pytest.approx((weights.min(), weights.max()))
    state.set_selection(kind="cross")  # cross-attention hides nothing here
    assert view.masked is None and view.mask_image.image is None
    assert "Grey" not in view.caption.text()
