"""Tabs build their views when first shown: at start only the front pane's view exists."""

import numpy as np
from PySide6.QtWidgets import QWidget

from visualizer.panes import PANES


def test_only_the_front_pane_is_built_until_a_tab_is_shown(traced_window, qtbot):
    window = traced_window
    built = [p.name for p in PANES if window.views.is_built(p.name)]
    assert built == ["attention"]
    # Every tab's page is there from the start, under its automation name, and still empty.
    for pane in PANES[1:]:
        page = window.findChild(QWidget, pane.object_name)
        assert page is not None and page.findChildren(QWidget) == []

    window.state.set_selection(kind="decoder", layer=1, head=2)
    window.show_pane("all-heads")
    assert window.views.is_built("all-heads")
    assert window.state.front_pane == "all-heads"
    grid = window.views["all-heads"]
    assert grid.parent() is window.findChild(QWidget, "headGridPane")
    qtbot.waitUntil(lambda: grid.mosaic is not None, timeout=5000)
    # Built after the run, it still shows that run: each thumbnail is its head's pattern.
    stack = window.state.trace.attention["decoder"]
    np.testing.assert_array_equal(grid.thumbnail(1, 2), stack[1, 2])
    assert [p.name for p in PANES if window.views.is_built(p.name)] == ["attention", "all-heads"]


def test_reading_a_view_builds_it_and_wires_it(traced_window):
    window = traced_window
    assert not window.views.is_built("head-stats")
    assert "head-stats" in window.views and len(window.views) == len(PANES)
    view = window.views["head-stats"]  # read, not shown: built and wired without a tab change
    assert window.views["head-stats"] is view and window.state.front_pane == "attention"
    window.show_pane("head-stats")
    assert window.state.front_pane == "head-stats"
    view.headActivated.emit("decoder", 0, 1)  # a clicked head opens the attention pane, as before
    assert window.state.front_pane == "attention"
