"""WeightsImage: the heatmap's image, which keeps its colourings of the matrices it showed.

pyqtgraph colours a 2,048-token matrix in ~3–6 ms. This item keeps its colourings (as ARGB, see
argb_image.py: each pixel pyqtgraph's colour) of the last few read-only matrices it showed (a
trace's heads, the shared means), so that going back to a kind, layer or head colours nothing:
the 32-bit pixels are kept, since converting them again would cost ~1–3 ms.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtGui import QImage

from . import look
from .argb_image import ArgbImage

# Colourings kept per item, in bytes: six at 2,048 tokens (16.8 MB each), hundreds of short ones.
KEEP_BYTES = 100 << 20
NAN_KEPT = 16  # NaN answers kept (None for a clean matrix, so small)


def frozen(array: np.ndarray) -> bool:
    """True when neither ``array`` nor any array it views can be written: its numbers are final,
    and holding it keeps its memory from ever holding another matrix."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return True


def source_key(array: np.ndarray) -> tuple:
    """Which numbers ``array`` shows: its memory, shape, strides and type (for a frozen array)."""
    return array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str


class WeightsImage(ArgbImage):
    """A row-major ImageItem fed the exact matrix (``image`` stays the float32 numbers); what it
    paints is pyqtgraph's colouring of it, kept for frozen matrices until ``forget()``."""

    def __init__(self, keep_bytes: int = KEEP_BYTES):
        super().__init__(axisOrder="row-major")
        self.keep_bytes = keep_bytes
        # (matrix, levels, lut) -> (the matrix, held so its memory stays its own; its drawable
        # colouring), oldest first
        self._kept: OrderedDict[tuple, tuple[np.ndarray, QImage]] = OrderedDict()
        self._nan: OrderedDict[tuple, tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self.colourings = 0  # matrices coloured so far (what a kept colouring saves)

    def forget(self) -> None:
        """Drop every kept colouring (a new trace: its matrices are new arrays)."""
        self._kept.clear()
        self._nan.clear()

    def nan_cells(self, matrix: np.ndarray | None) -> np.ndarray | None:
        """``look.nan_cells(matrix)``, remembered for a frozen matrix (a pass over 4M cells)."""
        if matrix is None or not frozen(matrix):
            return look.nan_cells(matrix)
        key = source_key(matrix)
        if key not in self._nan:
            self._nan[key] = (matrix, look.nan_cells(matrix))
            while len(self._nan) > NAN_KEPT:
                self._nan.popitem(last=False)
        self._nan.move_to_end(key)
        return self._nan[key][1]

    def _key(self) -> tuple | None:
        image, lut, levels = self.image, self.lut, self.levels
        if image is None or image.size == 0 or self.autoDownsample or not frozen(image) \
                or not isinstance(lut, np.ndarray) or levels is None:
            return None
        return (source_key(image), self.axisOrder, np.asarray(levels, dtype=np.float64).tobytes(),
                lut.shape, lut.dtype.str, lut.tobytes())

    def render(self) -> None:
        key = self._key()
        if key is not None and key in self._kept:
            self._kept.move_to_end(key)
            self.qimage = self._kept[key][1]
            self._renderRequired = self._unrenderable = False
            return
        super().render()  # its own ARGB pixels
        if self._unrenderable or self.qimage is None:
            return
        self.colourings += 1
        if key is None or self.qimage.sizeInBytes() > self.keep_bytes:
            return
        self._kept[key] = (self.image, self.qimage)
        while sum(image.sizeInBytes() for _array, image in self._kept.values()) > self.keep_bytes:
            self._kept.popitem(last=False)
