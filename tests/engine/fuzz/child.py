"""The fuzz child: makes each requested case, opens it with engine.load, runs it, reports.

Run by runner.py as ``python -m tests.engine.fuzz.child``. Requests and replies are JSON
lines on stdin and on the original stdout; everything libraries print goes to stderr. After
its imports the child caps its own address space, so a case that asks for gigabytes fails
inside it (and is reported) instead of swapping the machine.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
import traceback
from pathlib import Path

EXTRA_ADDRESS_SPACE = 3 * 2**30  # over what the imports use; far above any tiny model's needs
TEXT = "The small cat sleeps near the window, 42 zebras. <unk> [MASK] <extra_id_0> 🙂"


def _status(field: str) -> int:
    """A size from /proc/self/status, in bytes (0 where there is none)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def _virtual_memory() -> int:
    return _status("VmSize")


def _start_measuring() -> float:
    """The resident size now, in MB, with the peak reset to it (Linux: clear_refs 5), so that
    the peak after a case is that case's own, even after bigger earlier cases."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status("VmRSS") / 2**20


def _peak_mb() -> float:
    return (_status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20


def attempt(path: Path) -> tuple[str, str]:
    """(outcome, detail): "model", "input-error", "refused", or "failed" with the traceback."""
    import engine

    try:
        model = engine.load(path)
    except engine.CheckpointError as error:
        return "refused", str(error)
    except engine.InputError as error:
        return "input-error", str(error)
    except BaseException as error:  # noqa: B036 (the point: report whatever escapes)
        if isinstance(error, KeyboardInterrupt):
            raise
        return "failed", "".join(traceback.format_exception(error)[-6:])
    kwargs = {} if model.config.architecture == "encoder-only" else {"max_new_tokens": 3}
    try:
        model.run(TEXT, **kwargs)
    except engine.InputError as error:
        return "input-error", str(error)
    except BaseException as error:  # noqa: B036
        if isinstance(error, KeyboardInterrupt):
            raise
        return "failed", "while running: " + "".join(traceback.format_exception(error)[-6:])
    return "model", model.name


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints must not break the protocol
    import torch

    import engine
    from engine.importers import load_hf_folder  # noqa: F401 (every importer, imported now)
    from tests.engine.fuzz.mutations import make_case

    torch.set_num_threads(1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort ends at once, without a core file
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _virtual_memory() + EXTRA_ADDRESS_SPACE
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    engine.load  # noqa: B018 (resolved before the first case)
    replies.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        where = Path(request["workdir"]) / f"case{request['index']}"
        where.mkdir(parents=True, exist_ok=True)
        before, start = _start_measuring(), time.perf_counter()
        try:
            target, described = make_case(request["format"], Path(request["base"]),
                                          request["seed"], request["index"], where)
        except Exception as error:  # a fault of the harness, reported as a failed case
            target, described = where, f"{request['format']} #{request['index']} (not made)"
            outcome, detail = "failed", "making the case: " + "".join(traceback.format_exception(error))
        else:
            outcome, detail = None, ""
        replies.write(json.dumps({"started": described, "target": target.name}) + "\n")
        if outcome is None:
            outcome, detail = attempt(target)
        replies.write(json.dumps({"outcome": outcome, "detail": detail[:2000],
                                  "seconds": time.perf_counter() - start,
                                  "rss_growth_mb": _peak_mb() - before}) + "\n")
        shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
