"""``offstage(view)``: a view on a tab behind another, whose updates can wait until it is shown."""

from __future__ import annotations


def offstage(widget) -> bool:
    """True when ``widget``'s window is on screen but the widget is not (its tab is behind another).

    Such a view puts its drawing off until its ``showEvent``: at 2,048 tokens every pane redrawn
    on every head switch or hover costs more than a frame. A window that was never shown (tests,
    headless export) is not offstage, so its views draw at once, as before.
    """
    return not widget.isVisible() and widget.window().isVisible()
