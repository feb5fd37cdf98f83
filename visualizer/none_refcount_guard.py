"""A guard against a PySide6 reference-count bug that aborts the app after a few minutes of use.

PySide6 6.12.0 returns ``None`` from every void method (``painter.save()``, ``pen.setWidth()``,
...) without adding a reference to it. On Python 3.12+ ``None`` is immortal and nothing happens;
on Python 3.11 each call drops one of ``None``'s references. With torch and pyqtgraph loaded
there are about 60,000, and one head change with its repaint spends about 300 of them (measured),
so after some 200 clicks, or one large figure export, Python aborts with "Fatal Python error:
none_dealloc: deallocating None".

``protect_none()`` checks whether the running PySide6 has the bug and, only then, gives ``None``
the huge reference count that Python 3.12 gives it, which makes the lost references harmless.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40  # references; at a million lost per second this lasts 12 days
_applied = False


def leaks_none_references(calls: int = 64) -> bool:
    """True if calling a void Qt method loses references to ``None``."""
    from PySide6.QtCore import QPointF

    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(calls):
        point.setX(1.0)
    return sys.getrefcount(None) <= before - calls // 2


def protect_none() -> bool:
    """Apply the guard where it is needed (once); returns True if it is in place."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # None is immortal there (or refcounts work differently)
    if not leaks_none_references():
        return False
    # ob_refcnt is the first field of every CPython object (a Py_ssize_t).
    ctypes.c_ssize_t.from_address(id(None)).value += RESERVE
    _applied = True
    return True
