"""How long the head-line, activation and depth views take at long inputs (12 layers x 12 heads).

Times, as medians of --repeats runs, what a user waits for (the update plus an offscreen paint):
    lines: one head     the head-line view repainting one head's lines,
    lines: all heads    the same with every head of the layer in its own colour,
    lines: hover        a token hovered elsewhere, isolated and repainted,
    activations: hook   switching between an FFN hidden layer and a per-head query,
    depth: new trace    a run finishing (norms of every residual point, three plots),
    depth: hover        a hovered token drawn on top.

    QT_QPA_PLATFORM=offscreen python benchmarks/analysis_views.py [--tokens 512] [--repeats 5]
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
from visualizer.views.activation_view import ActivationView  # noqa: E402
from visualizer.views.depth_plot_view import DepthPlotView  # noqa: E402
from visualizer.views.head_line_view import HeadLineView  # noqa: E402

LAYERS, HEADS, D_MODEL = 12, 12, 96


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication([])
    model = wide_encoder(LAYERS, HEADS, D_MODEL, 4 * D_MODEL, "views benchmark")
    state = AppState()
    state.set_model(model)
    state.set_trace(model.run(sentence_of(args.tokens)))
    print(f"{LAYERS} layers x {HEADS} heads, {args.tokens} tokens, d_ff {4 * D_MODEL}, "
          f"window 1000 x 800, median of {args.repeats} runs (ms)")
    results = {}

    lines = HeadLineView(state)
    lines.resize(1000, 800)
    lines.show()
    app.processEvents()
    viewport = lines.scroll.viewport()
    results["lines: one head"] = median_ms(lambda: (lines._redraw(), viewport.grab()), args.repeats)
    lines.all_heads.setChecked(True)
    results["lines: all heads"] = median_ms(lambda: (lines._redraw(), viewport.grab()), args.repeats)
    results["lines: hover"] = median_ms(lambda: (state.set_hover("source", 7), viewport.grab(),
                                                 state.set_hover("source", -1)), args.repeats) / 2
    lines.close()

    activations = ActivationView(state)
    activations.resize(1000, 800)
    activations.show()
    app.processEvents()
    results["activations: hook"] = median_ms(lambda: (
        state.set_selection(hook="encoder.5.ffn.hidden"), activations.grab(),
        state.set_selection(hook="encoder.5.self_attn.q"), activations.grab()), args.repeats) / 2
    activations.close()

    depth = DepthPlotView(state)
    depth.resize(1000, 800)
    depth.show()
    app.processEvents()
    trace = state.trace
    results["depth: new trace"] = median_ms(lambda: (state.set_trace(trace), depth.grab()), args.repeats)
    results["depth: hover"] = median_ms(lambda: (
        state.set_hover("source", 9), depth.grab(),
        state.set_hover("source", 10), depth.grab()), args.repeats) / 2
    depth.close()
    for name, value in results.items():
        print(f"{name:>20}  {value:8.1f}")


if __name__ == "__main__":
    main()
