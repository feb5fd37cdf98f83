"""benchmarks/RESULTS.md: the machine, its load, and one table row per measured target."""

from __future__ import annotations

import datetime
from pathlib import Path

from .rows import Result

BUSY_LOAD = 2.5  # a load average above this (on 2 cores) makes timings noise
HEADER = ("| row | what | issue 11 measured | target | measured | pass/miss | medians |\n"
          "|---|---|---:|---:|---:|---|---|")


def _load(load) -> str:
    return "unknown" if load is None else " / ".join(f"{value:.2f}" for value in load)


def render(results: list[Result], machine: dict, load_start, load_end, seconds: float, how: str) -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m benchmarks` ({how}) on {when}, in {seconds / 60:.1f} minutes.",
        "Ratios are of medians over interleaved rounds in one process (ours / theirs); latencies",
        "are medians. The rows are issue 11's targets; \"issue 11 measured\" is the figure before.",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores (torch uses {machine['torch_threads']} "
        f"threads); RAM {machine['ram']}",
        f"- torch {machine['torch']}, Python {machine['python']}, {machine['os']}",
        f"- load average (1 / 5 / 15 min): {_load(load_start)} at the start, {_load(load_end)} at the end",
        "",
    ]
    busiest = max(load[0] for load in (load_start, load_end) if load) if (load_start or load_end) else 0.0
    if busiest > BUSY_LOAD:
        lines += [f"**Measured on a busy machine (load average {busiest:.2f}, above {BUSY_LOAD}): these "
                  "figures are noise. Rerun `python -m benchmarks` on a quiet machine.**", ""]
    lines.append(HEADER)
    for result in results:
        row = result.row
        detail = (result.detail or result.note).replace("|", "/")
        lines.append(f"| `{row.key}` | {row.what} | {row.before} | {row.target()} | {result.measured()} "
                     f"| {result.status} | {detail} |")
    misses = [r for r in results if r.status == "miss"]
    lines += ["", f"{sum(r.status == 'pass' for r in results)} of {len(results)} rows pass"
              + (f"; missed: {', '.join(r.row.key for r in misses)}." if misses else ".")]
    if misses:
        lines += ["", "Why rows miss, with profiles and what was tried: [README.md](README.md#"
                  "what-a-recorded-run-computes-and-the-rows-that-still-miss)."]
    return "\n".join(lines) + "\n"


def write_results(path: Path, results: list[Result], machine: dict, load_start, load_end,
                  seconds: float, how: str) -> None:
    Path(path).write_text(render(results, machine, load_start, load_end, seconds, how), encoding="utf-8")
