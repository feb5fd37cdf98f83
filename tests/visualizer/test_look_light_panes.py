"""Every pane has one look: white background, dark axes and text; each says which model is loading."""

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor

from tests.visualizer.shown_view import show_view
from visualizer.state.app_state import AppState
from visualizer.views.activation_view import ActivationView
from visualizer.views.attention_view import AttentionView
from visualizer.views.depth_plot_view import DepthPlotView
from visualizer.views.head_grid_view import HeadGridView
from visualizer.views.head_line_view import HeadLineView

VIEWS = [AttentionView, HeadGridView, HeadLineView, ActivationView, DepthPlotView]


def _axes(view):
    """Every visible axis of the view's plots and colour bars."""
    return [item for graphics in view.findChildren(pg.GraphicsView)
            for item in graphics.scene().items() if isinstance(item, pg.AxisItem) and item.isVisible()]


def _drawing_areas(view):
    """The widgets the view draws its content in (pyqtgraph views, or the head-lines canvas)."""
    return view.findChildren(pg.GraphicsView) or [view.canvas]


def _placeholder(view) -> str:
    """What the view shows while it has nothing to draw."""
    if isinstance(view, AttentionView):
        return view.plot.titleLabel.text
    return view.caption.text()


@pytest.mark.parametrize("view_class", VIEWS, ids=lambda c: c.__name__)
def test_every_pane_is_light_with_dark_axes(qtbot, tiny_run, view_class):
    _state, view = show_view(qtbot, tiny_run, view_class, (800, 600))
    for area in _drawing_areas(view):
        image = area.grab().toImage()
        for x, y in ((2, 2), (image.width() - 3, image.height() - 3)):
            assert QColor(image.pixel(x, y)) == QColor("white"), (type(area).__name__, x, y)
    axes = _axes(view)
    assert axes or isinstance(view, HeadLineView)
    for axis in axes:
        assert axis.pen().color().lightness() < 100 and axis.textPen().color().lightness() < 60


def test_the_selected_head_outline_reads_on_white(qtbot, tiny_run):
    _state, view = show_view(qtbot, tiny_run, HeadGridView, (700, 500))
    assert view.highlight.isVisible()
    assert view.highlight.pen().color().lightness() < 100  # was white: invisible in the white gaps


@pytest.mark.parametrize("view_class", VIEWS, ids=lambda c: c.__name__)
def test_the_placeholder_names_the_checkpoint_being_opened(qtbot, tiny_run, view_class):
    state = AppState()
    view = view_class(state)
    qtbot.addWidget(view)
    assert _placeholder(view).startswith("No model open yet")
    state.set_loading("tiny.safetensors")
    assert _placeholder(view) == "Loading tiny.safetensors…"
    state.set_model(tiny_run[0])  # the model is there: the load is over
    state.set_loading("")
    assert "Loading" not in _placeholder(view) and _placeholder(view).startswith("Run a sentence")
