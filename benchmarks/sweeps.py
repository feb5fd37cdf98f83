"""How long head importance and patching sweeps take on the demo translator.

Each round times, interleaved (so a busy machine slows all alike):
    head importance, all 16 heads     every head of every kind ablated alone, batched (the app's),
    head importance, one run per head the same through model.run(ablate=) one head at a time,
    patching, resid 2 × 8             the translator's encoder: 2 layers × 8 positions,
    patching, resid 3 × 8             a 3-layer encoder of the translator's size (random weights),
    patching, resid + heads           the translator: residual sweep and all 16 heads' .z.

    python benchmarks/sweeps.py [--rounds 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import engine  # noqa: E402
from engine.patching import patching  # noqa: E402
from visualizer.state.sweeps import importance_of_every_kind  # noqa: E402

CLEAN, CORRUPTED = "the white cat sees the small dog", "the black cat sees the small dog"
TARGET = "le chat blanc voit le petit chien"  # the translator's; the random model gets it given
TRANSLATOR = Path(__file__).resolve().parents[1] / "assets" / "models" / "translator.safetensors"


def one_run_per_head(model) -> None:
    target = model.run(CORRUPTED, record=False).output_text
    for kind in model.kinds:
        for layer in range(model.n_layers(kind)):
            for head in range(model.config.n_heads):
                model.run(CORRUPTED, target, ablate=[(kind, layer, head)], record=False)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: what the app sets for a small model)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    translator = engine.load(TRANSLATOR)
    config = dataclasses.replace(translator.config, n_encoder_layers=3)
    deeper = engine.create(config, translator.tokenizer, "3-layer encoder")
    cases = {
        "head importance, all 16 heads": lambda: importance_of_every_kind(translator, CORRUPTED, None, None),
        "head importance, one run per head": lambda: one_run_per_head(translator),
        "patching, resid 2 × 8": lambda: patching(translator, CLEAN, CORRUPTED, kinds=()),
        "patching, resid 3 × 8": lambda: patching(deeper, CLEAN, CORRUPTED, TARGET, kinds=()),
        "patching, resid + heads": lambda: patching(translator, CLEAN, CORRUPTED),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for case in cases.values():
        case()  # warm-up
    for _ in range(args.rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append((time.perf_counter() - start) * 1000)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch threads {args.threads}, {args.rounds} interleaved rounds, load average {load} "
          "(ms: median, min–max)")
    for name, values in times.items():
        print(f"{name:36s} {statistics.median(values):8.1f}   {min(values):.1f}–{max(values):.1f}")


if __name__ == "__main__":
    main()
