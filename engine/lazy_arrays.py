"""Read-only arrays whose values are computed when first read (numpy only).

A lean trace (engine.lean_recording) keeps the residual stream and recomputes a layer's other
values on demand. These stand where the full trace has ndarrays: ``shape``, ``dtype``, indexing,
``np.asarray``, arithmetic and every ndarray method (delegated to the loaded values) work, so a
consumer written for arrays reads them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin


def _plain(value):
    return np.asarray(value) if isinstance(value, LazyArray | LayerStack) else value


class LazyArray(NDArrayOperatorsMixin):
    """An array that ``load()`` computes (the loader caches: a second read is free).

    Given its ``shape``, the shape, ``ndim``, ``dtype`` and ``nbytes`` are read without a load.
    """

    def __init__(self, load: Callable[[], np.ndarray], shape: tuple[int, ...] | None = None):
        self._load = load
        if shape is not None:
            self.shape = tuple(shape)
            self.ndim = len(self.shape)
            self.dtype = np.dtype(np.float32)
            self.nbytes = int(np.prod(self.shape)) * 4

    def __array__(self, dtype=None, copy=None):
        array = self._load()
        return array if dtype is None else array.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(_plain(value) for value in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getitem__(self, index):
        return self._load()[index]

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self):
        return iter(self._load())

    def __getattr__(self, name: str):  # shape, ndim, mean, max, T, astype, ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._load(), name)

    def __repr__(self) -> str:
        return f"LazyArray({self._load()!r})"


class LayerStack(NDArrayOperatorsMixin):
    """``[layers, ...]`` whose layers load one at a time: ``stack[layer]`` and
    ``stack[layer, head, ...]`` read one layer; a read across layers loads each of them.

    ``shape`` needs no load. ``nbytes`` is what the whole stack would take if materialised.
    """

    def __init__(self, shape: tuple[int, ...], layer: Callable[[int], np.ndarray],
                 loaded: Callable[[int], bool] | None = None):
        self.shape = tuple(shape)
        self._layer = layer
        self._loaded = loaded
        self.dtype = np.dtype(np.float32)

    def is_loaded(self, layer: int) -> bool:
        """Whether reading ``layer`` now costs nothing (its values are held)."""
        return self._loaded(layer) if self._loaded is not None else False

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index):
        first, rest = (index[0], index[1:]) if isinstance(index, tuple) else (index, ())
        if isinstance(first, int | np.integer):
            layer = int(first)
            if not -self.shape[0] <= layer < self.shape[0]:
                raise IndexError(f"layer {layer} is out of range for {self.shape[0]} layers")
            values = self._layer(layer % self.shape[0])
            return values[rest] if rest else values
        return np.asarray(self)[index]

    def __iter__(self):
        return (self._layer(i) for i in range(self.shape[0]))

    def __array__(self, dtype=None, copy=None):
        whole = np.stack([self._layer(i) for i in range(self.shape[0])])
        return whole if dtype is None else whole.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(_plain(value) for value in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getattr__(self, name: str):  # mean, max, sum, ...: over the materialised stack
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(np.asarray(self), name)

    def __repr__(self) -> str:
        return f"LayerStack(shape={self.shape})"
