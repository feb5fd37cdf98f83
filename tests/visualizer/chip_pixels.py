"""Read the token chips as a user sees them: the colour painted inside a chip, and a mouse over one."""

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QScrollArea

from visualizer.widgets.token_chips import PAD_X


def chip_color(chips, side: str, position: int) -> str:
    """The colour painted in ``side``'s chip at ``position``, beside its text (e.g. "#ffd54f")."""
    rect = chips.chip_rect(side, position)
    assert not rect.isEmpty(), f"no chip for {side} {position}"
    image = chips.grab(rect).toImage()
    return image.pixelColor(PAD_X // 2, rect.height() // 2).name()


def move_mouse_to_chip(qtbot, chips, side: str, position: int) -> None:
    """Scroll the chip into sight, as a user would, and move the mouse onto its centre."""
    rect = chips.chip_rect(side, position)
    scroll = chips.parentWidget().parentWidget()
    assert isinstance(scroll, QScrollArea)
    scroll.ensureVisible(rect.center().x(), rect.center().y(), 0, rect.height())
    # Onto the chip from its left edge, as a hand moves: the first move into a window may only
    # enter it, and Qt can coalesce a lone jump.
    qtbot.mouseMove(chips, rect.center() - QPoint(rect.width() // 4, 0))
    qtbot.mouseMove(chips, rect.center())
