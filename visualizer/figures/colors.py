"""Colormaps as lookup tables, and matrices turned into QImages with them.

The tables come from pyqtgraph's own colormaps, so an exported figure uses exactly the colours
the app shows. Values map to entries as pyqtgraph's ImageItem maps them: ``floor((v - low) / (high
- low) * N)``, clipped to the table.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PySide6.QtGui import QImage

from ..state.view_state import COLORMAPS

LUT_SIZE = 256
# Cells a mask hides (causal, padding, local window): their weight is 0 by construction, not
# learned, so they get a neutral grey that no colormap entry is, on screen and in every file.
MASKED_COLOR = (200, 200, 200)
# Cells whose value is NaN (weights holding NaN or inf, an overflow): magenta, far from every
# colormap entry, so a missing number never reads as 0 or as a weight.
NAN_COLOR = (255, 0, 255)


@lru_cache(maxsize=16)
def lookup_table(name: str) -> np.ndarray:
    """``[256, 3]`` uint8 RGB entries of a named pyqtgraph colormap (read-only)."""
    import pyqtgraph as pg  # the import is heavy; pay it only when a figure is drawn

    colormap = pg.colormap.get(name)
    if colormap is None:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    table = np.ascontiguousarray(colormap.getLookupTable(0.0, 1.0, LUT_SIZE, alpha=False),
                                 dtype=np.uint8)
    table.flags.writeable = False
    return table


def color_indices(matrix: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """The lookup-table index of every value (NaN maps to the lowest colour)."""
    low, high = levels
    span = (high - low) or 1.0
    scaled = np.nan_to_num((np.asarray(matrix, dtype=np.float64) - low) * (LUT_SIZE / span), nan=0.0)
    return np.clip(np.floor(scaled), 0, LUT_SIZE - 1).astype(np.intp)


def colors_of(matrix: np.ndarray, levels: tuple[float, float], colormap: str,
              masked: np.ndarray | None = None) -> np.ndarray:
    """``[..., 3]`` uint8 RGB colours of the values: what a screen pixel of each cell shows.

    Cells where ``masked`` is True are ``MASKED_COLOR``; NaN cells are ``NAN_COLOR``, masked or
    not (a mask's cell is 0 by construction, so a NaN there is news).
    """
    rgb = lookup_table(colormap)[color_indices(matrix, levels)]
    if masked is not None:
        rgb[np.broadcast_to(masked, rgb.shape[:-1])] = MASKED_COLOR
    nan = np.isnan(matrix)
    if np.any(nan):  # (a single value's colour is a read-only row of the table: no assignment)
        rgb = np.where(nan[..., None], np.array(NAN_COLOR, dtype=np.uint8), rgb)
    return rgb


def matrix_image(matrix: np.ndarray, levels: tuple[float, float], colormap: str,
                 upscale: int = 1, masked: np.ndarray | None = None) -> QImage:
    """An RGB QImage with one pixel per cell (``upscale`` × ``upscale`` pixels per cell).

    Vector outputs embed this image; upscaling by whole pixels keeps the cells crisp in viewers
    that smooth embedded images. Cells where ``masked`` is True are ``MASKED_COLOR``, NaN cells
    ``NAN_COLOR``.
    """
    rgb = colors_of(matrix, levels, colormap, masked)
    if upscale > 1:
        rgb = np.repeat(np.repeat(rgb, upscale, axis=0), upscale, axis=1)
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: ``rgb`` is freed when this function returns


def colorbar_image(colormap: str) -> QImage:
    """A 1 × 256 image of the colormap, highest value at the top."""
    rgb = np.ascontiguousarray(lookup_table(colormap)[::-1].reshape(LUT_SIZE, 1, 3))
    image = QImage(rgb.data, 1, LUT_SIZE, 3, QImage.Format.Format_RGB888)
    return image.copy()


def reduce_for_thumbnail(matrix: np.ndarray, limit: int) -> np.ndarray:
    """Shrink a matrix to at most ``limit`` cells a side by block maxima.

    Maxima (not means) keep a sharp head's single bright key visible in a small thumbnail; a
    block holding a NaN is NaN.
    """
    rows, cols = matrix.shape
    row_step = max(1, -(-rows // limit))
    col_step = max(1, -(-cols // limit))
    if row_step == 1 and col_step == 1:
        return matrix
    padded = np.full((-(-rows // row_step) * row_step, -(-cols // col_step) * col_step),
                     -np.inf, dtype=np.float32)
    padded[:rows, :cols] = matrix
    blocks = padded.reshape(padded.shape[0] // row_step, row_step, padded.shape[1] // col_step, col_step)
    return blocks.max(axis=(1, 3))


def reduce_mask_for_thumbnail(masked: np.ndarray, limit: int) -> np.ndarray:
    """The mask of ``reduce_for_thumbnail``'s blocks: a block is masked when all its cells are."""
    return reduce_for_thumbnail((~masked).astype(np.float32), limit) <= 0
