"""Adds the analysis views (all heads, head lines, activations, depth) to the main window."""

from __future__ import annotations

from .activation_view import ActivationView
from .depth_plot_view import DepthPlotView
from .head_grid_view import HeadGridView
from .head_line_view import HeadLineView


def install_analysis_views(window) -> None:
    """Create the views on ``window.state``, add them as tabs after the attention view.

    A click in the all-heads grid selects that head and brings the attention tab forward, so
    the user sees the head large, with its token labels.
    """
    state = window.state
    window.head_grid_view = HeadGridView(state)
    window.head_line_view = HeadLineView(state)
    window.activation_view = ActivationView(state)
    window.depth_plot_view = DepthPlotView(state)
    window.add_view("All heads", window.head_grid_view)
    window.add_view("Head lines", window.head_line_view)
    window.add_view("Activations", window.activation_view)
    window.add_view("Depth", window.depth_plot_view)
    window.head_grid_view.headActivated.connect(
        lambda *_: window.view_tabs.setCurrentWidget(window.attention_view))
    # ←/→ and ↑/↓ step heads and layers in the grid and the line view as in the attention view.
    window.selection_bar.install_navigation(window.head_grid_view.graphics, window.head_line_view.canvas)
