"""The fuzz parent: feeds cases to one child process, with a timeout and a memory bound each.

A case passes when it ends in a model (which then runs or raises InputError) or in a
CheckpointError whose message names the file or folder. A hang, a crash of the child, any
other exception or a jump in the child's memory fails it; the child is then started afresh.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CASE_SECONDS = 10.0  # a tiny model opens in ~0.1 s; the margin is for a busy 2-core machine
START_SECONDS = 180.0  # importing torch and the engine, on that machine
MEMORY_GROWTH_MB = 256.0  # a tiny model needs at most ~20 MB; this is a blow-up
GOOD = ("model", "input-error", "refused")


@dataclass
class Result:
    case: str
    outcome: str  # GOOD outcomes, or "failed", "hang", "crash", "memory", "unnamed"
    detail: str = ""
    seconds: float = 0.0
    rss_growth_mb: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome in GOOD


@dataclass
class Summary:
    results: list[Result] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(r.outcome == outcome for r in self.results)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def report(self) -> str:
        outcomes = ("model", "input-error", "refused", "failed", "hang", "crash", "memory", "unnamed")
        counts = ", ".join(f"{o} {self.count(o)}" for o in outcomes if self.count(o))
        slowest = max((r.seconds for r in self.results), default=0.0)
        return f"{len(self.results)} cases: {counts}; slowest {slowest:.2f} s"


class Child:
    """One ``python -m tests.engine.fuzz.child`` process and its line protocol."""

    def __init__(self, log: Path):
        self.log = log.open("ab")
        env = dict(os.environ, RUST_BACKTRACE="0", PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.fuzz.child"], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.buffer = b""
        reply = self.read(START_SECONDS)
        if not (reply and reply.get("ready")):
            raise RuntimeError(f"the fuzz child did not start; its log: {self.log_tail()}")

    def read(self, seconds: float) -> dict | None:
        """The next reply line, or None on a timeout or when the child has died."""
        deadline = time.monotonic() + seconds
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.process.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:  # the child died: wait for it, so that it is reported as a crash
                self.process.wait(timeout=30)
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def send(self, request: dict) -> None:
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()

    def log_tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_bytes()[-1500:].decode(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()


def _named(message: str, target: str, base: Path) -> bool:
    """A refusal names the file or folder, or one of the folder's files."""
    names = {target} | ({p.name for p in base.rglob("*")} if base.is_dir() else set())
    return any(name in message for name in names)


class Fuzzer:
    """Runs cases of any format in one child process, started again after a failure."""

    def __init__(self, timeout: float = CASE_SECONDS):
        self.timeout = timeout
        self._scratch = tempfile.TemporaryDirectory(prefix="fuzz-")
        self.scratch = Path(self._scratch.name)
        self.child: Child | None = None

    def run(self, fmt: str, base: Path, seed: int, indices, timeout: float | None = None) -> Summary:
        """Cases ``indices`` of ``fmt``, each a damaged copy of ``base`` (index -1: undamaged)."""
        summary = Summary()
        for index in indices:
            summary.results.append(self._case(fmt, base, seed, index, timeout or self.timeout))
        return summary

    def _case(self, fmt: str, base: Path, seed: int, index: int, timeout: float) -> Result:
        self.child = self.child or Child(self.scratch / "child.log")
        self.child.send({"format": fmt, "base": str(base), "seed": seed, "index": index,
                         "workdir": str(self.scratch)})
        started = self.child.read(timeout)
        reply = self.child.read(timeout) if started else None
        case = started["started"] if started else f"{fmt} #{index} (not made)"
        if reply is None:
            died = self.child.process.poll() is not None
            detail = self.child.log_tail() if died else f"no answer within {timeout:.0f} s"
            self.child.close()
            self.child = None
            return Result(case, "crash" if died else "hang", detail)
        result = Result(case, reply["outcome"], reply["detail"], reply["seconds"],
                        reply["rss_growth_mb"])
        if result.rss_growth_mb > MEMORY_GROWTH_MB:
            result.outcome = "memory"
        elif result.outcome == "refused" and not _named(result.detail, started["target"], base):
            result.outcome = "unnamed"
        return result

    def close(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None
        self._scratch.cleanup()
