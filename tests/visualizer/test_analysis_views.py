"""The logit-lens and rollout panes and the value-weighted attention toggle draw the engine's numbers."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication, QToolTip

from engine.logit_lens import logit_lens
from engine.readable_tokens import readable_token
from engine.rollout import rollout
from engine.value_weighted import value_norms, value_weighted
from tests.export_checks import assert_pdf, svg_texts
from tests.visualizer.conftest import PAIR

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def win(qapp, tiny_checkpoint):
    """One hidden traced window of the tiny model on PAIR (source and target)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from visualizer import MainWindow

    def until_idle(window):
        loop = QEventLoop()
        window.controller.busyChanged.connect(lambda busy, _text: busy or loop.quit())
        QTimer.singleShot(TIMEOUT, loop.quit)
        loop.exec()

    window = MainWindow(checkpoint=tiny_checkpoint)
    window.load_checkpoint(tiny_checkpoint)
    until_idle(window)
    window.run(*PAIR)
    until_idle(window)
    assert window.state.trace_inputs == PAIR
    yield window
    window.close()
    window.deleteLater()
    qapp.processEvents()


@pytest.fixture
def fresh(win):
    """The window with default options, back on the attention pane afterwards."""
    win.state.set_option(lens_color="top", rollout_head="mean", attention_weighting="weight")
    yield win
    win.state.set_option(lens_color="top", rollout_head="mean", attention_weighting="weight")
    win.show_pane("attention")
    win.export_actions.wait()
    QToolTip.hideText()  # the heatmaps' hover shows a tooltip, which Qt hides after a delay
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == "qtooltip_label":
            widget.hide()


def hover(view, row, col):
    view._on_mouse_moved(view.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5)))
    return view.readout.text()


def test_the_lens_grid_shows_the_engines_lens_and_the_toggle_recolours_it(fresh, tmp_path):
    fresh.show_pane("logit-lens")
    view, state = fresh.views["logit-lens"], fresh.state
    lens = logit_lens(state.model, state.trace)
    np.testing.assert_array_equal(view.image_item.image, lens.top_probs)
    rows, cols = lens.top_probs.shape
    assert (rows, cols) == (3, len(state.trace.target_tokens))
    texts = [item.toPlainText() for item in view._texts]
    assert texts == [readable_token(t) for t in lens.top_tokens.ravel()]  # every cell's top token
    assert view.left_axis.tokens() == ["embeddings", "layer 0", "layer 1"]

    text = hover(view, 1, 2)
    after = readable_token(state.trace.target_tokens[3])
    assert text == (f'layer 0, position 2 "{state.token_labels("target")[2]}": '
                    f'"{readable_token(lens.top_tokens[1, 2])}" {lens.top_probs[1, 2] * 100:.1f}% '
                    f'(next "{after}" {lens.target_probs[1, 2] * 100:.1f}%)')
    assert "next" not in hover(view, 2, cols - 1)  # the last position has no next token

    view.target_box.setChecked(True)
    assert state.lens_color == "target"
    np.testing.assert_array_equal(view.image_item.image, np.nan_to_num(lens.target_probs))
    grey = view.mask_item.image.astype(bool)  # the cells with no true next token
    np.testing.assert_array_equal(grey, np.isnan(lens.target_probs))
    assert grey[:, -1].all() and not grey[:, :-1].any()
    with np.load(fresh.export_front_pane(tmp_path / "lens.npz")) as data:
        np.testing.assert_array_equal(data["target_probs"], lens.target_probs)
        np.testing.assert_array_equal(data["matrix"], lens.top_probs)  # the CSV matrix stays top_probs
    assert_pdf(fresh.export_front_pane(tmp_path / "lens.pdf"))
    assert "logit lens: each layer's top token, coloured by the probability of the true next token" \
        in " ".join(svg_texts(fresh.export_front_pane(tmp_path / "lens.svg")))


def test_the_rollout_pane_follows_kind_layer_and_head_fusion(fresh, tmp_path):
    fresh.show_pane("rollout")
    view, state = fresh.views["rollout"], fresh.state
    state.set_selection(kind="decoder", layer=1)
    attention = state.trace.attention
    mean = rollout(attention, "decoder", 1, "mean")
    np.testing.assert_array_equal(view.image_item.image, mean)
    np.testing.assert_allclose(view.image_item.image.sum(axis=1), 1, atol=1e-5)
    grey = view.mask_item.image.astype(bool)  # a decoder's future: no path reaches it
    np.testing.assert_array_equal(grey, np.triu(np.ones_like(grey), 1))
    view.fusion_selector.setCurrentText("max")
    assert state.rollout_head == "max"
    np.testing.assert_array_equal(view.image_item.image, rollout(attention, "decoder", 1, "max"))
    assert not np.allclose(view.image_item.image, mean)
    state.set_selection(kind="cross", layer=0)
    cross = rollout(attention, "cross", 0, "max")
    np.testing.assert_array_equal(view.image_item.image, cross)
    assert view.mask_item.image is None  # every source token is reachable
    assert hover(view, 1, 2) == (f'"{state.query_labels()[1]}" #1 → "{state.key_labels()[2]}" #2: '
                                 f'{float(cross[1, 2]):.3g} (rollout, max of heads)')
    with np.load(fresh.export_front_pane(tmp_path / "rollout.npz")) as data:
        np.testing.assert_array_equal(data["matrix"], cross)
        assert str(data["head"]) == "max"
    assert_pdf(fresh.export_front_pane(tmp_path / "rollout.pdf"))


def test_value_weighting_reweights_the_heatmap_and_exports_the_norms(fresh, tmp_path):
    fresh.show_pane("attention")
    view, state = fresh.attention_view, fresh.state
    state.set_selection(kind="encoder", layer=1, head=3)
    weights = state.trace.attention["encoder"][1, 3]
    np.testing.assert_array_equal(view.image_item.image, weights)
    view.value_weighted_box.setChecked(True)
    assert state.attention_weighting == "value-norm"
    norms = value_norms(state.model, state.trace, "encoder", 1)
    shown = value_weighted(state.trace.attention["encoder"][1], norms)[3]
    np.testing.assert_allclose(view.image_item.image, shown, rtol=1e-6)
    assert not np.allclose(shown, weights, atol=1e-3)
    np.testing.assert_allclose(view.image_item.image.sum(axis=1), 1, atol=1e-5)
    assert "value-weighted" in view.plot.titleLabel.text
    assert hover(view, 0, 1).endswith(f"(value-weighted share of the row; weight {float(weights[0, 1]):.3g}, "
                                      f"‖v W_O‖ {float(norms[3, 1]):.3g})")
    with np.load(fresh.export_front_pane(tmp_path / "weighted.npz")) as data:
        np.testing.assert_allclose(data["matrix"], shown, rtol=1e-6)
        np.testing.assert_array_equal(data["value_norms"], norms)
        np.testing.assert_array_equal(data["weights"], weights)
    view.value_weighted_box.setChecked(False)
    np.testing.assert_array_equal(view.image_item.image, weights)


def test_long_inputs_are_computed_off_the_gui_thread_then_drawn(fresh, qtbot, monkeypatch):
    """Above a size, the lens and the rollout come from a pool thread; the result is the same."""
    import visualizer.views.lens_view as lens_view
    import visualizer.views.rollout_view as rollout_view
    from visualizer.state import lens_grid, rollout_selection

    monkeypatch.setattr(lens_view, "SYNC_COST", 0)
    monkeypatch.setattr(rollout_view, "SYNC_COST", 0)
    monkeypatch.setattr(lens_grid, "_cache", [])
    monkeypatch.setattr(rollout_selection, "_cache", [])
    state = fresh.state
    fresh.show_pane("logit-lens")
    view = fresh.views["logit-lens"]
    view.refresh()  # as for a new trace: nothing is cached
    assert view.caption.text() == lens_view.COMPUTING and view.grid is None
    qtbot.waitUntil(lambda: view.grid is not None, timeout=TIMEOUT)
    # The pool thread may compute on another torch thread count (engine/threads.py): sums round
    # in another order, so equal within float32 rounding rather than bit for bit.
    np.testing.assert_allclose(view.image_item.image, logit_lens(state.model, state.trace).top_probs,
                               rtol=0, atol=1e-6)

    state.set_selection(kind="encoder", layer=1)
    fresh.show_pane("rollout")
    view = fresh.views["rollout"]
    qtbot.waitUntil(lambda: view.image_item.image is not None and view.background.pending_key is None,
                    timeout=TIMEOUT)
    view.background.wait()
    np.testing.assert_array_equal(view.image_item.image, rollout(state.trace.attention, "encoder", 1))
