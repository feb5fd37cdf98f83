"""Value axes for figures: round linear ticks, or whole decades on a log scale. No Qt here."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class ValueAxis:
    """One plot's y axis: its range and ticks in axis units (log10 of the value on a log axis)."""

    low: float
    high: float
    ticks: tuple[tuple[float, str], ...]
    minor: tuple[float, ...] = ()  # unlabelled grid lines (2..9 × 10^k on a log axis)
    log: bool = False

    def coordinate(self, values: np.ndarray) -> np.ndarray:
        """Values in axis units; on a log axis, values ≤ 0 have none (NaN)."""
        values = np.asarray(values, dtype=np.float64)
        if not self.log:
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values > 0, np.log10(values), np.nan)



def linear_axis(values: np.ndarray, count: int = 5) -> ValueAxis:
    """About ``count`` round ticks (1, 2, 2.5 or 5 × 10^k apart) spanning every finite value."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high - low <= 1e-12 * max(1.0, abs(high)):
        low, high = low - max(0.5, abs(low) * 0.1), high + max(0.5, abs(high) * 0.1)
    raw = (high - low) / (count - 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    ticks = []
    for i in range(round((last - first) / step) + 1):
        value = first + i * step
        text = f"{round(value / step) * step:.6g}"
        ticks.append((value, "0" if text == "-0" else text))
    return ValueAxis(first, last, tuple(ticks))


def log_axis(values: np.ndarray) -> ValueAxis:
    """Whole decades spanning every positive value, labelled 10ⁿ, with 2..9 × 10ⁿ as grid lines."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        low, high = 0, 1
    else:
        low = math.floor(math.log10(float(positive.min())))
        high = math.ceil(math.log10(float(positive.max())))
    high = max(high, low + 1)
    step = max(1, math.ceil((high - low) / 8))  # at most about 8 labelled decades
    ticks = tuple((float(k), decade_text(k)) for k in range(low, high + 1, step))
    minor = tuple(math.log10(m) + k for k in range(low, high) for m in range(2, 10))
    return ValueAxis(float(low), float(high), ticks, minor, log=True)


def decade_text(exponent: int) -> str:
    """10⁰, 10¹, 10⁻²: how papers write a decade."""
    return "10" + str(exponent).translate(SUPERSCRIPT)
