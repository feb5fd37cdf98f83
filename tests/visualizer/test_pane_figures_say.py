"""What the analysis panes' figures and captions tell the user: the lens's grey cells, both
patching maps in one figure, and head statistics that were taken with heads ablated."""

import numpy as np
import pytest
from PySide6.QtCore import QSizeF

from engine.corpus_stats import corpus_head_stats
from tests.export_checks import pixel_rgb, svg_texts
from tests.visualizer.conftest import PAIR
from visualizer.figures import export_figure, render_image
from visualizer.figures.colors import colors_of
from visualizer.panes import pane_named
from visualizer.state.head_stat_table import head_stat_table
from visualizer.state.sweeps import PATCHING, store_result, sweep_request
from visualizer.state.view_state import ViewState

CORRUPTED = "the small dog sees a red house ."  # as many tokens as PAIR's source


@pytest.fixture(scope="module")
def traced(tiny_checkpoint):
    """A Qt-free state holding the tiny translator's trace of PAIR (source and given target)."""
    import engine

    model = engine.load(tiny_checkpoint)
    state = ViewState()
    state.set_model(model)
    state.set_inputs(*PAIR)
    state.set_trace(model.run(*PAIR), PAIR)
    return state


def test_the_lens_figure_calls_grey_cells_no_next_token_and_attention_still_masked(traced, tmp_path):
    traced.set_option(lens_color="target")  # the last position has no next token: grey
    lens = svg_texts(export_figure(pane_named("logit-lens").figure(traced), tmp_path / "lens.svg"))
    assert "no next token" in lens and "masked" not in lens
    traced.set_selection(kind="decoder", layer=0, head=0)
    attention = svg_texts(export_figure(pane_named("attention").figure(traced), tmp_path / "attention.svg"))
    assert "masked" in attention and "no next token" not in attention  # a causal mask's grey


def test_the_patching_figure_draws_the_residual_and_the_head_map_as_the_pane(traced):
    traced.set_option(patch_corrupted=CORRUPTED)
    traced.set_selection(kind="cross")
    request = sweep_request(traced, PATCHING)
    result = request.run()
    store_result(traced, PATCHING, request.key, result)
    figure = pane_named("patching").figure(traced)
    residual, heads = figure.panels
    np.testing.assert_array_equal(residual.selection.matrix, result.effect)
    np.testing.assert_array_equal(heads.selection.matrix, result.head_effect["cross"])
    assert "clean" in figure.title and f"{result.m_clean:.3f}" in figure.title
    # Each cell's centre pixel in the PNG is its value's colour, in both panels.
    size = figure.natural_size()
    image = render_image(figure, int(size.width()), int(size.height()), dpi=72)
    for panel, rect in zip(figure.panels, figure.panel_rects(QSizeF(size)), strict=True):
        heat = panel.layout(rect.size()).heatmap.translated(rect.topLeft())
        matrix = panel.selection.matrix
        expected = colors_of(matrix, panel.levels, panel.selection.colormap)
        rows, cols = matrix.shape
        for r in range(rows):
            for c in range(cols):
                x = heat.left() + (c + 0.5) * heat.width() / cols
                y = heat.top() + (r + 0.5) * heat.height() / rows
                assert np.abs(np.subtract(pixel_rgb(image, x, y), expected[r, c], dtype=int)).max() <= 2


def test_head_statistics_say_how_many_heads_were_ablated(traced):
    model = traced.model
    ablate = (("encoder", 0, 1), ("decoder", 1, 0))
    lines = [PAIR[0], "the dog sees a cat ."]
    corpus = corpus_head_stats(model, lines, ablate=ablate, name="two.txt")
    traced.set_selection(kind="encoder")
    traced.set_head_stats_corpus(corpus)
    title = head_stat_table(traced).title
    assert title.endswith("mean over 2 inputs (two.txt), with 2 heads ablated (dec L1 H0, enc L0 H1)")
    plain = corpus_head_stats(model, lines, name="two.txt")
    traced.set_head_stats_corpus(plain)
    assert head_stat_table(traced).title.endswith("mean over 2 inputs (two.txt)")
    # The ablation reached the numbers: decoder layer 1 reads what the zeroed encoder head wrote.
    assert not np.allclose(corpus.stats["cross"]["entropy"], plain.stats["cross"]["entropy"])
    traced.set_head_stats_corpus(None)
    traced.set_trace(model.run(*PAIR, ablate=[("cross", 0, 2)]), PAIR)
    assert head_stat_table(traced).title.endswith(", this input, with 1 head ablated (cross L0 H2)")
    traced.set_trace(model.run(*PAIR), PAIR)
    assert head_stat_table(traced).title.endswith(", this input")
