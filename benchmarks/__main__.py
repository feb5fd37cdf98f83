"""``python -m benchmarks``: every row of issue 11's table, written to benchmarks/RESULTS.md.

Contenders of a row (ours and transformers', recorded and not, a Run click and the bare run)
are timed in the same interleaved rounds in this one process; the table gives the ratio of
their medians (or the median itself, for a latency), the target and pass/miss, and the machine
with its load average at the start and the end. Start-up launches fresh interpreters.

    python -m benchmarks [--quick] [--only ROW ...] [--rounds N] [--out FILE]

Run it on a quiet machine: with a load average above about 2.5 on two cores the figures are
noise. ``--tiny`` shrinks every model to test this script itself (figures then mean nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import engine_rows, gui_rows, startup  # noqa: E402
from benchmarks.results_file import write_results  # noqa: E402
from benchmarks.rounds import load_average, machine  # noqa: E402
from benchmarks.rows import BY_KEY, ROWS, Result  # noqa: E402

GROUPS = {  # group -> how to measure it: fn(scale, rounds, warmup, wanted rows)
    "marian": lambda *a: engine_rows.forward_group("marian", *a),
    "t5": lambda *a: engine_rows.forward_group("t5", *a),
    "bert": lambda *a: engine_rows.forward_group("bert", *a),
    "decode": engine_rows.decode_group,
    "lens": engine_rows.lens_group,
    "gui": gui_rows.gui_group,
    "run-click": gui_rows.run_click_group,
    "startup": lambda scale, rounds, warmup, wanted: startup_group(rounds),
}


def startup_group(runs: int) -> list[Result]:
    times = startup.startup_times(runs)
    results = []
    for key, mark in (("launch-window", "shown"), ("launch-trace", "trace")):
        values = sorted(times[mark])
        detail = f"median of {runs} launches (range {values[0]:.2f}–{values[-1]:.2f} s), shipped translator"
        results.append(Result(BY_KEY[key], statistics.median(values), detail))
    return results


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds and no warm-up: a smoke test")
    parser.add_argument("--only", nargs="+", metavar="ROW", choices=list(BY_KEY),
                        help=f"these rows only: {', '.join(BY_KEY)}")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 9, --quick 2)")
    parser.add_argument("--tiny", action="store_true", help="toy-size models: tests this script only")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    rounds = args.rounds or (2 if args.quick else 9)
    warmup = 0 if args.quick else 1
    scale = "tiny" if args.tiny else "full"
    wanted = set(args.only or BY_KEY)
    load_start = load_average()
    started = time.monotonic()
    print(f"load average at start: {load_start}", file=sys.stderr)
    results: dict[str, Result] = {}
    for group in dict.fromkeys(row.group for row in ROWS if row.key in wanted):
        group_start = time.monotonic()
        rows = {row.key for row in ROWS if row.group == group and row.key in wanted}
        try:
            for result in GROUPS[group](scale, rounds if group != "startup" else max(rounds, 3),
                                        warmup, rows):
                results[result.row.key] = result
        except Exception as error:  # one failed group must not lose the others' figures
            for key in rows:
                results[key] = Result(BY_KEY[key], None, note=f"failed: {type(error).__name__}: {error}")
        print(f"{group}: {time.monotonic() - group_start:.0f} s", file=sys.stderr)
        for key in sorted(rows):
            result = results[key]
            print(f"  {key}: {result.measured()} {result.status}  {result.detail}", file=sys.stderr)
    write_results(args.out, [results[row.key] for row in ROWS if row.key in results], machine(),
                  load_start, load_average(), time.monotonic() - started,
                  f"{rounds} rounds" + (", --quick" if args.quick else "") + (", --tiny" if args.tiny else "")
                  + (f", --only {' '.join(args.only)}" if args.only else ""))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
