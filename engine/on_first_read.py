"""Values a trace computes when first read, once, whichever thread reads first (numpy only).

A recorded pass leaves out what costs time and memory but is a pure function of what it kept:
the logits (the vocabulary product, a third of a translator's work at 512 tokens) and the
predicted tokens (their argmax). ``Pending`` wraps such a computation; ``DeferredField`` lets a
frozen dataclass field hold one and hand out its value, so a reader gets a plain ndarray or list.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Pending:
    """``compute()`` called at most once (thread-safe); ``value()`` returns its result."""

    def __init__(self, compute: Callable[[], object]):
        self._compute = compute
        self._lock = threading.Lock()
        self._done = False
        self._value = None

    @property
    def done(self) -> bool:
        return self._done

    def value(self):
        if not self._done:
            with self._lock:
                if not self._done:
                    self._value = self._compute()
                    self._compute = None  # what it read may be freed
                    self._done = True
        return self._value


class DeferredField:
    """A dataclass field whose value may be given as a ``Pending``: read, it is its value."""

    def __set_name__(self, owner, name: str):
        self._slot = "_" + name

    def __get__(self, instance, owner=None):
        if instance is None:
            raise AttributeError("no default")  # the dataclass field is required
        value = instance.__dict__[self._slot]
        return value.value() if isinstance(value, Pending) else value

    def __set__(self, instance, value) -> None:
        instance.__dict__[self._slot] = value

    def is_pending(self, instance) -> bool:
        value = instance.__dict__[self._slot]
        return isinstance(value, Pending) and not value.done
