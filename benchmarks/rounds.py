"""Interleaved rounds: every contender once per round, in an order that alternates, then medians.

A busy machine slows whatever runs while it is busy: timing contenders one after another lets
that drift land on one of them (forward_speed.py once measured its unrecorded pass slower than
the recorded one). Here each round runs every contender once, the order reversed every other
round, so drift and load hit all alike; ratios are of the medians.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Samples:
    """Milliseconds per contender, one per round (a contender may also report its own figure)."""

    times: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def ratio(self, name: str, reference: str) -> float:
        return self.median(name) / self.median(reference)

    def spread(self, name: str) -> tuple[float, float]:
        return min(self.times[name]), max(self.times[name])


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds of one call; a float the call returns is its own measurement and is used."""
    start = time.perf_counter()
    result = fn()
    elapsed = (time.perf_counter() - start) * 1000
    return result if isinstance(result, float) else elapsed


def interleave(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int = 1,
               pause: float = 0.02) -> Samples:
    """Run ``contenders`` in ``rounds`` rounds after ``warmup`` untimed ones.

    Garbage is collected before each call, outside the timing, so one contender's garbage is
    never another's cost; ``pause`` lets idle torch threads go to sleep between calls.
    """
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            gc.collect()
            time.sleep(pause)
            times[name].append(timed(contenders[name]))
    return Samples(times)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return None


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def machine() -> dict:
    """What the results were measured on (the load average is read again at the end)."""
    import torch

    ram = ram_gb()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "ram": f"{ram:.1f} GB" if ram else "unknown", "torch": torch.__version__,
            "python": platform.python_version(), "os": platform.platform(terse=True)}
