"""Start-up: ``python main.py`` until its window is shown, and until its first trace is drawn.

Each launch is a fresh interpreter started with ``--startup-times`` (the app prints a JSON line
at its window's first paint and at the paint that first shows a trace, then exits), timed from
just before the process is started, as a user's double-click would be. The app opens as it
does for a user: the shipped translator and its example sentence, settings in a temporary
folder. One untimed launch first warms the file cache.

    QT_QPA_PLATFORM=offscreen python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def launch(settings: Path, extra: tuple[str, ...] = (), timeout: float = 300) -> dict[str, float]:
    """Seconds from the process start to each mark ("shown", "trace")."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               XDG_CONFIG_HOME=str(settings))
    start = time.monotonic()
    out = subprocess.run([sys.executable, "main.py", "--startup-times", *extra], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"main.py --startup-times failed ({out.returncode}): {out.stderr[-1500:]}")
    marks = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            mark = json.loads(line)
            marks[mark["mark"]] = mark["monotonic"] - start
    return marks


def startup_times(runs: int, extra: tuple[str, ...] = ()) -> dict[str, list[float]]:
    """``runs`` launches after a warm-up: {"shown": [s, ...], "trace": [s, ...]}."""
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as settings:
        launch(Path(settings), extra)
        times: dict[str, list[float]] = {"shown": [], "trace": []}
        for _ in range(runs):
            marks = launch(Path(settings), extra)
            for key in times:
                times[key].append(marks[key])
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    times = startup_times(args.runs)
    print(f"{args.runs} launches, load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    for key, label in (("shown", "launch -> window shown"), ("trace", "launch -> first trace drawn")):
        values = times[key]
        print(f"{label}: median {statistics.median(values):.2f} s "
              f"(range {min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
