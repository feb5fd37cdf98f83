"""Pure numpy for the all-heads grid: max-pool every head to a thumbnail, lay them out as one image."""

from __future__ import annotations

import math

import numpy as np


def pool_patterns(stack: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink ``[L, H, Q, K]`` patterns so no side exceeds ``max_side``, by block maxima.

    Maxima rather than means, so that one sharp attention peak stays visible in a thumbnail.
    Queries are pooled first: that pass reads the whole stack but is a plain elementwise
    maximum of strided slices, and leaves a far smaller array for the key pass.
    """
    if not isinstance(stack, np.ndarray):  # a lean trace's: replay and pool one layer at a time
        return np.concatenate([pool_patterns(np.asarray(stack[i])[None], max_side)
                               for i in range(len(stack))])
    queries, keys = stack.shape[2:]
    pooled = _max_pool_axis(stack, math.ceil(queries / max_side), axis=2)
    return _max_pool_axis(pooled, math.ceil(keys / max_side), axis=3)


def pool_masks(masks: np.ndarray, max_side: int) -> np.ndarray:
    """``[L, Q, K]`` masked cells pooled as ``pool_patterns`` pools: a block is masked when all of
    its cells are (one visible weight keeps the block coloured)."""
    visible = pool_patterns((~masks[:, None]).astype(np.float32), max_side)[:, 0]
    return visible <= 0


def _max_pool_axis(array: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Maxima of consecutive blocks of ``factor`` entries along ``axis`` (the last block may be short)."""
    if factor <= 1:
        return array
    index = [slice(None)] * array.ndim
    index[axis] = slice(0, None, factor)
    out = np.array(array[tuple(index)], dtype=np.float32)
    for offset in range(1, factor):
        index[axis] = slice(offset, None, factor)
        part = array[tuple(index)]
        head = [slice(None)] * array.ndim
        head[axis] = slice(0, part.shape[axis])
        np.maximum(out[tuple(head)], part, out=out[tuple(head)])
    return out


def build_mosaic(tiles: np.ndarray, gap: int) -> np.ndarray:
    """Lay ``[L, H, q, k]`` tiles out as one ``[L*(q+gap)-gap, H*(k+gap)-gap]`` image, NaN gaps."""
    layers, heads, rows, cols = tiles.shape
    canvas = np.full((layers, rows + gap, heads, cols + gap), np.nan, dtype=np.float32)
    canvas[:, :rows, :, :cols] = tiles.transpose(0, 2, 1, 3)
    mosaic = canvas.reshape(layers * (rows + gap), heads * (cols + gap))
    return np.ascontiguousarray(mosaic[: mosaic.shape[0] - gap, : mosaic.shape[1] - gap])
