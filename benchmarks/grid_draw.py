"""How long the all-heads grid takes to draw: 12 layers x 12 heads of encoder self-attention.

Builds a random 12 x 12 encoder-only model (d_model 96), runs it on N tokens, and times
    pool + mosaic   the numpy work (max-pooling every head to a thumbnail, one mosaic array),
    new trace       the view's whole update when a run finishes (the above plus setImage,
                    levels, axes),
    + paint         the update plus rendering the window offscreen (what a user waits for),
    cached kind     showing a kind already drawn for this trace again (pooling is cached).
Prints the median of --repeats runs per length.

    QT_QPA_PLATFORM=offscreen python benchmarks/grid_draw.py [--lengths 128 512] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication  # noqa: E402
from timing import median_ms, sentence_of, wide_encoder  # noqa: E402

from visualizer.state.app_state import AppState  # noqa: E402
from visualizer.views.head_grid_view import HeadGridView  # noqa: E402
from visualizer.views.head_mosaic import build_mosaic, pool_patterns  # noqa: E402

LAYERS, HEADS, D_MODEL = 12, 12, 96


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication([])
    model = wide_encoder(LAYERS, HEADS, D_MODEL, 2 * D_MODEL, "grid benchmark")
    print(f"{LAYERS} layers x {HEADS} heads, window 1400 x 900, median of {args.repeats} runs")
    columns = ("tokens", "pool+mosaic ms", "new trace ms", "+ paint ms", "cached kind ms")
    print("  ".join(f"{c:>14}" for c in columns))
    for length in args.lengths:
        tokens, timings = measure(app, model, length, args.repeats)
        print("  ".join([f"{tokens:>14}"] + [f"{t:>14.1f}" for t in timings]))


def measure(app, model, length: int, repeats: int) -> tuple[int, tuple[float, ...]]:
    sentence = sentence_of(length)
    state = AppState()
    state.set_model(model)
    state.set_trace(model.run(sentence))
    stack = state.trace.attention["encoder"]
    view = HeadGridView(state)
    view.resize(1400, 900)
    view.show()
    app.processEvents()

    trace = state.trace

    def paint():
        state.set_trace(trace)
        view.graphics.grab()  # renders the scene, as the screen would

    pool = median_ms(lambda: build_mosaic(pool_patterns(stack, view.thumbnail_side), 1), repeats)
    new_trace = median_ms(lambda: state.set_trace(trace), repeats)
    painted = median_ms(paint, repeats)
    cached = median_ms(view.refresh, repeats)
    view.close()
    view.deleteLater()
    app.processEvents()
    return stack.shape[-1], (pool, new_trace, painted, cached)

if __name__ == "__main__":
    main()
