"""A lean trace's layer is read off the GUI thread on its first show, then drawn exactly as the
full trace draws it; a head switch within a read layer draws at once."""

import numpy as np

from engine.memory_guard import estimate_run
from tests.conftest import make_tiny_model
from tests.visualizer.shown_view import show_then_feed
from visualizer.state.lean_traces import is_lean
from visualizer.views.attention_view import AttentionView

SENTENCE = "the small cat sees the red house ."


def test_a_lean_layer_is_read_off_thread_then_drawn_as_the_full_trace(qtbot):
    model = make_tiny_model()
    full = model.run(SENTENCE, "le petit chat voit")
    sizes = estimate_run(model.module, len(full.source_tokens), len(full.target_tokens))
    model.lean_over_budget = True
    model.memory_budget = sizes.working_bytes  # too small for the whole trace: it records lean
    lean = model.run(SENTENCE, "le petit chat voit")
    assert is_lean(lean) and not is_lean(full)
    view = show_then_feed(qtbot, AttentionView, (700, 500), model, lean)
    assert view.plot.titleLabel.text == "computing layer 0…"  # nothing read on the GUI thread
    with qtbot.waitSignal(view.layer_reader.loaded, timeout=10_000):
        pass
    np.testing.assert_array_equal(view.image_item.image, full.attention["encoder"][0, 0])
    view.state.set_selection(head=1)  # the same layer: at once
    np.testing.assert_array_equal(view.image_item.image, full.attention["encoder"][0, 1])
    with qtbot.waitSignal(view.layer_reader.loaded, timeout=10_000):
        view.state.set_selection(kind="cross", layer=1, head=0)
        assert view.plot.titleLabel.text == "computing layer 1…"
    np.testing.assert_array_equal(view.image_item.image, full.attention["cross"][1, 0])
    assert view.layer_reader.wait(10_000)
