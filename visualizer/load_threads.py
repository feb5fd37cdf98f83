"""``load_model(path)``: ``engine.load`` on as many torch threads as its one pass over the weights pays for.

Opening a checkpoint checks every weight once (finite values, the checksum). The demo
translator (0.7M parameters) took 300–430 ms to open on two threads and 26–31 ms on one, on
2 cores at a load average of 1.7, about a fifth of the time from the window shown to the first
trace: torch's threads meet at the end of each of the ~60 small operations, and a thread that
waits for its core stalls the others. The count follows engine/threads.py's policy, with the
weights' bytes standing in for the work: a 0.6B-parameter checkpoint still gets every free core.
"""

from __future__ import annotations

from pathlib import Path

BYTES_PER_VALUE = 4  # float32; a float16 file is counted as twice its values, which only errs to threads


def weight_bytes(path) -> int:
    """The size of a checkpoint file, or of the files in a checkpoint folder (0 if unreadable)."""
    path = Path(path)
    try:
        if path.is_dir():
            return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        return path.stat().st_size
    except OSError:
        return 0  # engine.load says what is wrong with the path


def load_model(path: str):
    import torch

    import engine  # first use imports torch (~2 s): always on a pool thread, never the GUI's
    from engine.threads import machine_threads, other_load, threads_for

    before = torch.get_num_threads()  # this thread's own count under OpenMP
    wanted = threads_for(weight_bytes(path) / BYTES_PER_VALUE, machine_threads(), other_load())
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        return engine.load(path)
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
