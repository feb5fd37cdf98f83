"""A lean trace's layers are read off the GUI thread: the attention tab reads a layer on its first
show, the rollout rolls out on a pool thread, and the all-heads grid and head statistics, which
need every layer, offer a button and then compute off-thread. Each then shows exactly what the
full trace shows."""

import numpy as np
import pytest

from engine.head_stats import head_stats
from engine.memory_guard import estimate_run
from engine.rollout import rollout
from tests.conftest import make_tiny_model
from tests.visualizer.shown_view import show_then_feed, show_view
from visualizer.state.lean_traces import is_lean
from visualizer.views.attention_view import AttentionView
from visualizer.views.head_grid_view import HeadGridView
from visualizer.views.head_stats_view import HeadStatsView
from visualizer.views.rollout_view import RolloutView

SENTENCE, TARGET = "the small cat sees the red house .", "le petit chat voit"
TIMEOUT = 10_000


@pytest.fixture(scope="module")
def runs():
    """(model, full trace, lean trace) of one input."""
    model = make_tiny_model()
    full = model.run(SENTENCE, TARGET)
    sizes = estimate_run(model.module, len(full.source_tokens), len(full.target_tokens))
    model.lean_over_budget = True
    model.memory_budget = sizes.working_bytes  # too small for the whole trace: it records lean
    lean = model.run(SENTENCE, TARGET)
    assert is_lean(lean) and not is_lean(full)
    return model, full, lean


def test_a_lean_layer_is_read_off_thread_then_drawn_as_the_full_trace(qtbot, runs):
    model, full, lean = runs
    assert lean.attention["encoder"].is_loaded(0) and not lean.attention["encoder"].is_loaded(1)
    view = show_then_feed(qtbot, AttentionView, (700, 500), model, lean)
    # The run replayed layer 0 to learn its shapes, and the engine holds it: drawn at once.
    assert not view.plot.titleLabel.text.startswith("computing")
    np.testing.assert_array_equal(view.image_item.image, full.attention["encoder"][0, 0])
    view.state.set_selection(head=1)  # the same layer: at once
    np.testing.assert_array_equal(view.image_item.image, full.attention["encoder"][0, 1])
    with qtbot.waitSignal(view.layer_reader.loaded, timeout=TIMEOUT):
        view.state.set_selection(kind="decoder", layer=1, head=0)
        assert view.plot.titleLabel.text == "computing layer 1…"
    np.testing.assert_array_equal(view.image_item.image, full.attention["decoder"][1, 0])
    assert view._masked is not None and view._masked.sum() == len(full.target_tokens) * (
        len(full.target_tokens) - 1) // 2  # the causal mask, read with the layer
    assert view.layer_reader.wait(TIMEOUT)


def test_the_rollout_of_a_lean_trace_is_rolled_out_off_thread(qtbot, runs):
    model, full, lean = runs
    view = show_then_feed(qtbot, RolloutView, (700, 500), model, lean)
    with qtbot.waitSignal(view.background.ready, timeout=TIMEOUT):
        view.state.set_selection(kind="decoder", layer=1)
    expected = rollout(full.attention, "decoder", 1, "mean")
    np.testing.assert_allclose(view.image_item.image, expected, rtol=0, atol=1e-7)
    assert view._masked is not None and view._masked[0, 1:].all()  # the future, greyed
    assert view.background.wait(TIMEOUT)


def test_the_grid_offers_to_compute_every_layer_then_equals_the_full_grid(qtbot, runs):
    model, full, lean = runs
    _state, full_view = show_view(qtbot, (model, full), HeadGridView, (600, 400))
    state, view = show_view(qtbot, (model, lean), HeadGridView, (600, 400))
    offer = view.all_layers
    assert view.mosaic is None and offer.isVisibleTo(view) and offer.button.isVisibleTo(view)
    assert offer.button.text() == "Compute all 2 layers" and "needs all 2 layers" in offer.label.text()
    with qtbot.waitSignal(offer.computed, timeout=TIMEOUT):
        offer.button.click()
        assert offer.label.text().startswith("Recomputing all 2 layers")
    # The replay may run on another torch thread count than the full run (engine/threads.py).
    np.testing.assert_allclose(view.mosaic, full_view.mosaic, rtol=0, atol=1e-6)
    assert not offer.isVisibleTo(view)
    assert offer.wait(TIMEOUT)


def test_head_statistics_offer_to_compute_every_layer_then_equal_the_full_ones(qtbot, runs):
    model, full, lean = runs
    state, view = show_view(qtbot, (model, lean), HeadStatsView, (900, 500))
    offer = view.all_layers
    assert view.table is None and offer.button.isVisibleTo(view)
    with qtbot.waitSignal(offer.computed, timeout=TIMEOUT):
        offer.button.click()
    expected = head_stats(full, state.kind)
    np.testing.assert_allclose(view.table.matrix, expected[view.table.statistic], rtol=0, atol=1e-6)
    assert not offer.isVisibleTo(view)
    assert offer.wait(TIMEOUT)
