"""A kind switch shows the grey overlay it drew before for that mask, not a fresh colouring."""

import numpy as np
from PySide6.QtCore import QPointF

from tests.visualizer.shown_view import show_view
from visualizer.figures.colors import MASKED_COLOR
from visualizer.views.attention_view import AttentionView


def _screen_rgb(view, row, col):
    image = view.plot_widget.grab().toImage()
    point = view.plot_widget.mapFromScene(view.plot.vb.mapViewToScene(QPointF(col + 0.5, row + 0.5)))
    color = image.pixelColor(point.x(), point.y())
    return color.red(), color.green(), color.blue()


def test_switching_back_to_a_kind_reuses_its_overlay_and_its_grey(qtbot, tiny_run):
    state, view = show_view(qtbot, tiny_run, AttentionView, (700, 600))
    state.set_selection(kind="decoder", layer=0, head=0)
    causal, overlay = state.masked_cells(), view.mask_item
    np.testing.assert_array_equal(overlay.image.astype(bool), causal)
    colourings = []
    overlay.sigImageChanged.connect(lambda: colourings.append(1))
    for kind in ("encoder", "cross", "decoder", "encoder", "decoder"):
        state.set_selection(kind=kind)
        shown = [item for item in view.plot.items if item.isVisible() and item.zValue() == 1]
        assert (view.mask_item is overlay) == (kind == "decoder")
        assert shown == ([overlay] if kind == "decoder" else [])  # one grey layer at most, the right one
    assert colourings == []  # never coloured again
    assert _screen_rgb(view, 0, 3) == MASKED_COLOR  # the causal mask's future, grey as before
    assert _screen_rgb(view, 3, 0) != MASKED_COLOR
    state.set_trace(tiny_run[1])  # a trace again: its masks are read afresh, and drawn afresh
    assert view.mask_item is not overlay and overlay not in view.plot.items
    np.testing.assert_array_equal(view.mask_item.image.astype(bool), state.masked_cells())
