"""How many threads torch should use for a run: every core other programs leave free.

The policy. A run in the app happens on a worker thread while the GUI waits for its result, so
the run may use every core the machine has; the GUI's own thread needs one only between runs.
Two exceptions, both because torch's threads meet at the end of every operation and a thread
that waits for its core stalls the others:
- a run too small to split (under ``PARALLEL_WORK`` multiply-adds, about every parameter once
  per token) runs on one thread: the demo translator on one sentence takes 10 ms on one
  thread and 20 ms on two, on 2 cores at a load average of 1.8;
- cores other programs keep busy are left to them: a BERT-shaped model on 512 tokens took
  215 ms on one thread and 1,834 ms on two while other processes kept the 2 cores busy.
  "Busy" is the 1-minute load average less this process's own recent use of the CPU (its
  earlier runs count there too).
``run_threads`` applies that for one run and puts the previous count back afterwards.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager

import torch

PARALLEL_WORK = 1e8  # multiply-adds of one pass from which threads pay (1M parameters × 100 tokens)
CHARACTERS_PER_TOKEN = 4  # a rough count of tokens before tokenizing: subword vocabularies, English
LOAD_WINDOW_S = 60.0  # the load average's own span
_default_threads: list[int] = []  # torch's own choice (OMP_NUM_THREADS, else every core), first seen
# (monotonic s, this process's CPU s): one at import, then one at each fit. Without the first,
# a process's first run would count all its earlier work (a window's start-up, a benchmark's
# other rows) as other programs' load and take one thread where two are free.
_cpu_samples: list[tuple[float, float]] = [(time.monotonic(), time.process_time())]


def machine_threads() -> int:
    """torch's default thread count, as it was before this module first changed it."""
    if not _default_threads:
        _default_threads.append(torch.get_num_threads())
    return _default_threads[0]


def run_work(model, *texts: str | None) -> float:
    """About how many multiply-adds one pass over ``texts`` takes: each parameter once per token."""
    tokens = max(1, sum(len(text or "") for text in texts) // CHARACTERS_PER_TOKEN)
    return getattr(model, "parameter_count", 0) * tokens


def own_load() -> float:
    """Cores this process kept busy on average over about the last minute."""
    now, cpu = time.monotonic(), time.process_time()
    _cpu_samples.append((now, cpu))
    while len(_cpu_samples) > 2 and now - _cpu_samples[1][0] >= LOAD_WINDOW_S:
        _cpu_samples.pop(0)
    then, cpu_then = _cpu_samples[0]
    return (cpu - cpu_then) / (now - then) if now - then >= 1.0 else 0.0


def other_load() -> float:
    """Cores other programs keep busy: the 1-minute load average less this process's share."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this system: assume an idle machine
        return 0.0
    return max(0.0, load - own_load())


def threads_for(work: float, cores: int, busy: float) -> int:
    """Threads for a run of ``work`` multiply-adds on ``cores`` cores, ``busy`` of them used elsewhere."""
    if work < PARALLEL_WORK:
        return 1
    return max(1, min(cores, math.ceil(cores - busy)))  # a core partly free counts as free


def fit_threads(model, *texts: str | None) -> int:
    """Set torch's thread count for a run of ``model`` on ``texts`` now and return it."""
    wanted = threads_for(run_work(model, *texts), machine_threads(), other_load())
    if torch.get_num_threads() != wanted:  # resizing the pool is needless work when it already fits
        torch.set_num_threads(wanted)
    return wanted


@contextmanager
def run_threads(model, *texts: str | None):
    """Run ``model`` on ``texts`` with ``fit_threads``' count inside the block, then restore the count.

    torch's thread count belongs to the calling thread under OpenMP: call this on the thread that runs.
    """
    before = torch.get_num_threads()
    used = fit_threads(model, *texts)
    try:
        yield used
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
