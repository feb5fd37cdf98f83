"""Head statistics over 500 generated translator sentences: the batched corpus pass against one
``model.run`` + ``head_stats`` per sentence, in interleaved rounds.

    python benchmarks/corpus_stats.py [--n 500] [--rounds 3] [--threads 2]

Two corpora of the same sentences: with their gold targets (teacher-forced, "source<TAB>target")
and sources alone (each decoded greedily first, as the app does for a line without a target).
Progress goes through the same callback the GUI's progress bar uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=100, help="sentences the per-run baseline times")
    args = parser.parse_args()

    import torch

    import engine
    from engine.corpus_stats import corpus_head_stats
    from engine.head_stats import head_stats
    from engine.tasks import translation

    torch.set_num_threads(args.threads)
    model = engine.load(ROOT / "assets" / "models" / "translator.safetensors")
    pairs = translation.generate(args.n, 1, "eval")
    corpora = {"gold targets": [f"{p.source_text}\t{p.target_text}" for p in pairs],
               "decoded": [p.source_text for p in pairs]}
    reports: list[tuple[int, int]] = []

    def batched(lines):
        reports.clear()
        corpus_head_stats(model, lines, progress=lambda done, total: reports.append((done, total)))

    def one_by_one(lines):  # every kind, as the corpus pass computes them
        for line in lines[:args.baseline]:
            source, _, target = line.partition("\t")
            trace = model.run(source, target or None)
            for kind in model.kinds:
                head_stats(trace, kind)

    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, lines in corpora.items():
            for how, work in (("batched", batched), ("one run each", one_by_one)):
                start = time.perf_counter()
                work(lines)
                elapsed = time.perf_counter() - start
                if how == "one run each":  # timed on a subset, scaled to the whole corpus
                    elapsed *= len(lines) / min(args.baseline, len(lines))
                times.setdefault((name, how), []).append(elapsed)
    print(f"{args.n} sentences, {args.threads} threads, load average {os.getloadavg()[0]:.2f}, "
          f"{len(reports)} progress reports (last {reports[-1]})")
    for (name, how), values in times.items():
        print(f"{name:>12} · {how:<12} median {statistics.median(values):6.2f} s  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
