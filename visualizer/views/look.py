"""The one look of every pane: light background, dark axes and text, and the shared accent colours.

Each view styles its pyqtgraph plots with ``style_plot`` and takes its colours from here, so all
panes read alike on white (and as exported figures do).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from ..figures.colors import MASKED_COLOR, NAN_COLOR
from ..state.line_selection import CROWD_RGBA, PALETTE
from .argb_image import ArgbImage

__all__ = ["MASKED_COLOR", "NAN_COLOR", "mask_overlay", "nan_cells", "nan_overlay", "placeholder",
           "set_mask_image", "style_axis", "style_color_bar", "style_graphics", "style_plot"]

BACKGROUND = "w"  # pyqtgraph's name for it
BACKGROUND_COLOR = "#ffffff"  # the same for QPainter-drawn views
AXIS_COLOR = "#444444"  # axis lines and ticks
TEXT_COLOR = "#111111"  # tick labels, axis titles
TITLE_COLOR = "#222222"
HOVER_COLOR = (255, 150, 0)  # the token hovered in any pane: orange reads on white and on viridis
SELECTED_COLOR = (20, 20, 20)  # the outline of the selected head in the all-heads grid
GRID_ALPHA = 0.25
TOKEN_COLORS = PALETTE  # one palette for heads and tokens
# Mask overlays are indexed images (uint8 0/1, a view of the booleans): 0 transparent, 1 the grey.
MASK_LUT = np.array([(0, 0, 0, 0), (*MASKED_COLOR, 255)], dtype=np.uint8)
# pyqtgraph draws NaN pixels transparent: on white that would read as 0. An overlay paints them.
NAN_LUT = np.array([(0, 0, 0, 0), (*NAN_COLOR, 255)], dtype=np.uint8)
CROWD_COLOR = CROWD_RGBA


def style_axis(axis: pg.AxisItem) -> None:
    """Dark axis line and text, and plain numbers: no "(x0.001)" SI-prefix rescaling."""
    axis.setPen(pg.mkPen(AXIS_COLOR))
    axis.setTextPen(pg.mkPen(TEXT_COLOR))
    axis.enableAutoSIPrefix(False)


def style_plot(plot: pg.PlotItem) -> None:
    for name in ("left", "bottom", "top", "right"):
        style_axis(plot.getAxis(name))


def style_graphics(widget: pg.GraphicsView) -> None:
    widget.setBackground(BACKGROUND)


def style_color_bar(bar: pg.ColorBarItem) -> None:
    for name in ("left", "bottom", "top", "right"):  # the tick axis and the bar's frame
        style_axis(bar.getAxis(name))  # pyqtgraph's grey is faint on white


def mask_overlay() -> pg.ImageItem:
    """An image item for ``set_mask_image``, above the weights (z 1) and below hover marks.

    Cached in device pixels: a head step repaints the weights under it, and a 2,048-token
    overlay is then one pixmap copy instead of a fresh scaled drawing (~2 ms). A kind switch that
    changes the cell count redraws it: from ARGB (~0.5 ms), not from an indexed image (~2.5 ms).
    """
    item = ArgbImage(axisOrder="row-major")
    item.setZValue(1)
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return item


def nan_overlay() -> pg.ImageItem:
    """An overlay for NaN cells (``set_mask_image(item, cells, NAN_LUT)``), above the mask's (z 2):
    a NaN in a masked cell is news, and shows."""
    item = mask_overlay()
    item.setZValue(2)
    return item


def nan_cells(matrix: np.ndarray | None) -> np.ndarray | None:
    """True where ``matrix`` is NaN, or None where no cell is. One sum (NaN if any cell is, or if
    infinities cancel) decides first, so a clean matrix costs a single pass."""
    if matrix is None or matrix.size == 0 or not np.isnan(np.sum(matrix)):
        return None
    cells = np.isnan(matrix)
    return cells if cells.any() else None


def set_mask_image(item: pg.ImageItem, masked: np.ndarray | None, lut: np.ndarray = MASK_LUT) -> None:
    """Show ``masked`` (True = grey, or ``lut``'s colour) on an overlay ImageItem, or clear it."""
    if masked is None or not masked.any():
        if item.image is not None:
            item.clear()
    else:
        item.setImage(np.ascontiguousarray(masked, dtype=bool).view(np.uint8), lut=lut,
                      levels=(0, 1), autoLevels=False)


def placeholder(state, no_trace: str) -> str:
    """What a view says while it has nothing to draw: the load under way, no model, or ``no_trace``."""
    if state.model is None:
        if state.loading:
            return f"Loading {state.loading}…"
        return "No model open yet (File → Open checkpoint…)"
    return no_trace
