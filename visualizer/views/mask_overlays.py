"""MaskOverlays: a heatmap's grey masked-cell overlay, drawn once per distinct mask and reused.

Colouring a 2,048-token overlay costs as much as colouring the weights (~6–10 ms), and a kind
switch (encoder, decoder, cross, back) used to colour it afresh each time the causal mask came
back. The state hands out one read-only array per distinct mask, so an overlay kept per array
(by identity) is shown again as it was: only the weights image is coloured on a switch.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from . import look

KEEP = 4  # overlays kept per view: the kinds' masks, and a local-window layer's (16 MB each at 2,048)


class MaskOverlays:
    """Up to ``KEEP`` grey overlays on ``plot``; ``show(masked)`` makes the one for ``masked`` visible."""

    def __init__(self, plot: pg.PlotItem):
        self._plot = plot
        self._kept: list[tuple[np.ndarray, pg.ImageItem]] = []  # oldest first
        self._empty = look.mask_overlay()  # what ``item`` is while no mask is shown: no image
        self.item = self._empty

    def show(self, masked: np.ndarray | None) -> None:
        """Show the overlay of ``masked`` (None or no True cell: none)."""
        if masked is not None and not masked.any():
            masked = None
        item = next((kept for array, kept in self._kept if array is masked), None) \
            if masked is not None else self._empty
        if item is None:
            item = self._new_overlay(masked)
        for _array, kept in self._kept:
            kept.setVisible(kept is item)
        self.item = item

    def clear(self) -> None:
        """Forget every overlay (a new trace: its masks are new arrays)."""
        for _array, kept in self._kept:
            self._plot.removeItem(kept)
        self._kept.clear()
        self.item = self._empty

    def _new_overlay(self, masked: np.ndarray) -> pg.ImageItem:
        if len(self._kept) >= KEEP:
            _array, oldest = self._kept.pop(0)
            self._plot.removeItem(oldest)
        item = look.mask_overlay()
        look.set_mask_image(item, masked)
        self._plot.addItem(item)
        self._kept.append((masked, item))
        return item
