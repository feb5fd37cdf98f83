"""ArgbImage: a pyqtgraph ImageItem that hands Qt its colouring as 32-bit ARGB, drawn as it is.

pyqtgraph colours a matrix into an 8-bit indexed image, which Qt converts to 32-bit pixels again
on every scaled paint: ~2–5 ms at 2,048 tokens, for the weights and for each grey overlay, on each
switch and hover repaint. Converted once, the same image draws in ~0.5 ms.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QImage


def drawable(image: QImage) -> QImage:
    """``image`` in 32-bit ARGB, which Qt draws scaled as fast as its own formats and, unlike RGB32
    or premultiplied ARGB, with the same pixel at each cell edge as the indexed image it replaces
    (those two round some edges to the neighbouring pixel)."""
    argb = QImage.Format.Format_ARGB32
    return image if image.format() == argb else image.convertToFormat(argb)


class ArgbImage(pg.ImageItem):
    """pyqtgraph's colouring, every pixel as it was, in a format Qt draws without converting."""

    def render(self) -> None:
        super().render()
        if self._unrenderable or self.qimage is None:
            return
        converted = drawable(self.qimage)
        # pyqtgraph's own ARGB pixels live in a buffer it reuses: a copy owns them.
        self.qimage = converted if converted is not self.qimage else converted.copy()
