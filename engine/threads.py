"""How many threads torch should use for a run: every core the other programs leave idle.

The policy. A run in the app happens on a worker thread while the GUI waits for its result,
so the run may use every core the machine has (the GUI's own thread needs one only between
runs). Cores other programs keep busy are the exception: torch's threads wait for one another
at every operation, and a thread that has to wait for a core stalls them all (the demo
translator on a busy 2-core machine: 117 ms on one thread, 0.3-3.7 s on two). So a small
model runs on the cores the 1-minute load average leaves free, and on one when none is; a
large model's long operations hide the waits, and it keeps torch's default (every core).
``run_threads`` applies that for one run and puts the previous count back afterwards.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager

import torch

SMALL_MODEL_PARAMETERS = 20_000_000
_default_threads: list[int] = []  # torch's own choice (OMP_NUM_THREADS, else every core), first seen


def machine_threads() -> int:
    """torch's default thread count, as it was before this module first changed it."""
    if not _default_threads:
        _default_threads.append(torch.get_num_threads())
    return _default_threads[0]


def other_load() -> float:
    """The 1-minute load average (runnable threads, this process's included), 0 where unknown."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def threads_for(parameters: int, cores: int, load: float) -> int:
    """Threads for a run of a model with ``parameters`` on ``cores``, at a load average of ``load``."""
    if parameters >= SMALL_MODEL_PARAMETERS:
        return cores
    # A core partly idle counts: the load average also holds this app's own recent runs.
    return max(1, min(cores, math.ceil(cores - load)))


def fit_threads(model) -> int:
    """Set torch's thread count for a run of ``model`` now and return it."""
    parameters = getattr(model, "parameter_count", SMALL_MODEL_PARAMETERS)
    wanted = threads_for(parameters, machine_threads(), other_load())
    if torch.get_num_threads() != wanted:  # resizing the pool is needless work when it already fits
        torch.set_num_threads(wanted)
    return wanted


@contextmanager
def run_threads(model):
    """Run ``model`` with ``fit_threads``' count inside the block, then restore the previous count.

    torch's thread count is per calling thread under OpenMP: call this on the thread that runs.
    """
    before = torch.get_num_threads()
    used = fit_threads(model)
    try:
        yield used
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
