"""Old tree against new tree: the same cases timed in interleaved rounds, medians and ratios.

Each version runs in its own worker process (``PYTHONPATH`` and ``cwd`` set to its checkout, the
engine's path printed to prove it); the driver asks the two workers for one round of a case in
turn, swapping who goes first every round, so drift and load hit both alike. Start-up and the
test suite run as alternating subprocesses instead.

    git worktree add /tmp/base ccb115e
    QT_QPA_PLATFORM=offscreen python benchmarks/compare_versions.py --old /tmp/base --new . \\
        [--groups forward attention grid startup tests] [--rounds 15]

Groups (all at this machine's torch default thread count unless said):
    forward    BERT-shape encoder (6 x 12 x 384, d_ff 1536, 512 tokens) through the module as
               forward_speed.py drives it, and through ``model.run`` (record=True / False);
               the shipped translator on one sentence (``run``, threads as the app fits them).
    attention  the heatmap at 2,048 tokens (2+2-layer, 12-head encoder-decoder, d_model 96):
               head / layer / kind / mean-of-heads switch, a new trace, a hovered cell; each is
               ``state.set_selection(...)`` (or a mouse move), ``processEvents()``, ``grab()``.
    grid       grid_draw.py's four cases at 512 tokens (12 x 12, d_model 96).
    startup    ``python main.py`` until the main window is shown / first painted, and
               ``python main.py --screenshot`` end to end, timed from the subprocess start.
    tests      ``python -m pytest -q`` wall time.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
WORDS = "the a cat dog sees small big red house sleeps runs and".split()


def sentence_of(tokens: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(tokens - 1))


# =============================================================================================
# Worker side: runs inside one version's checkout and answers "case name" with milliseconds.
# =============================================================================================
class Shim:
    """The few names that moved between the versions."""

    def __init__(self) -> None:
        try:
            from visualizer.state.app_state import AppState
            from visualizer.views import attention_view, head_grid_view, head_mosaic
            self.layout = "new"
        except ImportError:
            from visualizer.app_state import AppState

            from visualizer import attention_view, head_grid_view, head_mosaic
            self.layout = "old"
        self.AppState = AppState
        self.AttentionView = attention_view.AttentionView
        self.HeadGridView = head_grid_view.HeadGridView
        self.pool_patterns = head_mosaic.pool_patterns
        self.build_mosaic = head_mosaic.build_mosaic


def module_forward(length: int, record: bool):
    """forward_speed.py's "ours": the bare module, recorded through whatever this version has."""
    import torch

    import engine
    from engine.model import Transformer

    layers, vocab = 6, 1000
    config = engine.ModelConfig(architecture="encoder-only", vocab_size=vocab, d_model=384,
                                n_heads=12, n_encoder_layers=layers, d_ff=1536, dropout=0.0,
                                positions="learned", max_positions=2048, activation="gelu",
                                embed_norm=True, scale_embeddings=False, output_head=False)
    torch.manual_seed(0)
    module = Transformer(config).eval()
    ids = torch.randint(4, vocab, (1, length))
    try:
        from engine.hooks import collect, interventions
    except ImportError:  # before one hook mechanism: a Recorder passed through forward
        from engine.recorder import Recorder

        from engine.trace import collect

        def run():
            rec = Recorder(enabled=record)
            with torch.inference_mode():
                module(ids, None, rec)
            if record:
                collect(rec.values, ("encoder",), {"encoder": layers})
        return run

    def run():
        with interventions(module, record=record) as hooks, torch.inference_mode():
            module(ids)
        if record:
            collect(hooks.values, ("encoder",), {"encoder": layers})
    return run


def bert_model():
    import engine

    tokenizer = engine.word_level_tokenizer(WORDS)
    config = engine.ModelConfig(architecture="encoder-only", vocab_size=tokenizer.vocab_size,
                                d_model=384, n_heads=12, n_encoder_layers=6, d_ff=1536, dropout=0.0,
                                positions="learned", max_positions=2048, activation="gelu",
                                embed_norm=True, scale_embeddings=False, output_head=False)
    return engine.create(config, tokenizer, "bert shape")


class Worker:
    def __init__(self, group: str) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        import torch

        import engine

        self.torch = torch
        self.default_threads = torch.get_num_threads()
        self.group = group
        self.cases = {}
        info = {"engine": engine.__file__, "threads": self.default_threads}
        if group == "forward":
            self._setup_forward()
        else:
            from PySide6.QtWidgets import QApplication

            import visualizer

            self.app = QApplication.instance() or QApplication([])
            self.shim = Shim()
            info.update(visualizer=visualizer.__file__, layout=self.shim.layout)
            getattr(self, f"_setup_{group}")(info)
        info["cases"] = list(self.cases)
        print(json.dumps(info), flush=True)

    # ---- forward ------------------------------------------------------------------------
    def _setup_forward(self) -> None:
        import engine

        torch = self.torch
        threads = self.default_threads
        for record in (True, False):
            forward = module_forward(512, record)
            self.cases[f"BERT 512, module, record={record}"] = self._with_threads(forward, threads)
        model = bert_model()
        text = sentence_of(512)
        for record in (True, False):
            self.cases[f"BERT 512, model.run, record={record}"] = self._with_threads(
                lambda record=record: model.run(text, record=record), threads)
        translator = engine.load("assets/models/translator.safetensors")
        app_threads = engine.fit_threads(translator)  # as the app's run controller does
        torch.set_num_threads(threads)
        from visualizer.startup_defaults import example_sentence

        sentence = example_sentence("translator.safetensors")
        self.translator_sentence = sentence
        for record in (True, False):
            self.cases[f"translator, run, record={record}"] = self._with_threads(
                lambda record=record: translator.run(sentence, record=record), app_threads)
        # The same run with its output given as the target: one forward, no decoding.
        target = translator.run(sentence, record=False).output_text
        for record in (True, False):
            self.cases[f"translator, fixed target, record={record}"] = self._with_threads(
                lambda record=record: translator.run(sentence, target, record=record), app_threads)

    def _with_threads(self, fn, threads: int):
        def run():
            if self.torch.get_num_threads() != threads:
                self.torch.set_num_threads(threads)
            return fn()
        return run

    # ---- attention heatmap at 2,048 tokens ------------------------------------------------
    def _setup_attention(self, info: dict) -> None:
        import engine

        tokenizer = engine.word_level_tokenizer(WORDS)
        config = engine.ModelConfig(architecture="encoder-decoder", vocab_size=tokenizer.vocab_size,
                                    d_model=96, n_heads=12, n_encoder_layers=2, n_decoder_layers=2,
                                    d_ff=192, dropout=0.0, max_positions=4096)
        model = engine.create(config, tokenizer, "heatmap benchmark")
        text = sentence_of(2048)
        state = self.shim.AppState()
        state.set_model(model)
        state.set_trace(model.run(text, text))
        state.set_selection(kind="decoder", layer=0, head=0)
        view = self.shim.AttentionView(state)
        view.resize(1200, 900)
        view.show()
        self.app.processEvents()
        self.state, self.view = state, view
        info["shapes"] = {k: list(v.shape) for k, v in state.trace.attention.items()}
        app = self.app

        def shown():
            app.processEvents()
            view.grab()

        def step(changes):
            """Each change in turn, timed alone; the median of them (ms)."""
            times = []
            for change in changes:
                start = time.perf_counter()
                change()
                shown()
                times.append((time.perf_counter() - start) * 1000)
            return statistics.median(times)

        def select(**selection):
            return lambda: state.set_selection(**selection)

        def at(kind, layer=0, head=0):
            state.set_selection(kind=kind, layer=layer, head=head)
            shown()

        def heads(kind):
            def run():
                at(kind)
                return step([select(head=h) for h in (1, 2, 3, 0)])
            return run

        def layers():
            at("decoder")
            return step([select(layer=1), select(layer=0), select(layer=1), select(layer=0)])

        def kinds():
            at("encoder")
            return step([select(kind="decoder"), select(kind="cross"), select(kind="encoder"),
                         select(kind="decoder"), select(kind="encoder")])

        def mean():
            at("decoder")
            return step([select(head="mean"), select(head=0), select(head="mean"), select(head=0)])

        # A run's result is a new Trace object; a shallow copy shares the arrays but is one.
        traces = [state.trace, copy.copy(state.trace)]

        def new_trace():
            at("decoder", layer=1)
            return step([lambda t=t: state.set_trace(t) for t in (traces[1], traces[0])] * 2)

        def same_trace():
            at("decoder", layer=1)
            trace = state.trace
            return step([lambda: state.set_trace(trace)] * 3)

        self.cases["heatmap 2048: head switch (decoder, masked)"] = heads("decoder")
        self.cases["heatmap 2048: head switch (encoder)"] = heads("encoder")
        self.cases["heatmap 2048: layer switch (decoder)"] = layers
        self.cases["heatmap 2048: kind switch"] = kinds
        self.cases["heatmap 2048: mean-of-heads switch"] = mean
        self.cases["heatmap 2048: new trace (decoder, layer 1)"] = new_trace
        self.cases["heatmap 2048: same trace set again"] = same_trace
        self.cases["heatmap 2048: hover one cell (decoder)"] = self._hover_case("decoder")
        self.cases["heatmap 2048: hover one cell (encoder)"] = self._hover_case("encoder")

    def _hover_case(self, kind: str):
        from PySide6.QtCore import QEvent, QPointF, Qt
        from PySide6.QtGui import QMouseEvent

        state, view, app = self.state, self.view, self.app

        def move(fraction):
            """A real mouse-move event on the plot's viewport, at a point inside the image."""
            plot_rect = view.plot.vb.sceneBoundingRect()
            scene = QPointF(plot_rect.left() + plot_rect.width() * fraction,
                            plot_rect.top() + plot_rect.height() * fraction)
            local = QPointF(view.plot_widget.mapFromScene(scene))
            viewport = view.plot_widget.viewport()
            screen = QPointF(viewport.mapToGlobal(local.toPoint()))
            event = QMouseEvent(QEvent.Type.MouseMove, local, screen, Qt.MouseButton.NoButton,
                                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
            app.sendEvent(viewport, event)

        def run():
            state.set_selection(kind=kind, layer=0, head=0)
            app.processEvents()
            view.grab()
            times = []
            for fraction in (0.55, 0.65, 0.6, 0.7):
                start = time.perf_counter()
                move(fraction)
                app.processEvents()
                view.grab()
                times.append((time.perf_counter() - start) * 1000)
            if state.hover[1] < 0:
                raise RuntimeError("the synthetic mouse move hovered no cell")
            return statistics.median(times)
        return run

    # ---- all-heads grid (grid_draw.py's cases) -----------------------------------------
    def _setup_grid(self, info: dict) -> None:
        import engine

        tokenizer = engine.word_level_tokenizer(WORDS)
        config = engine.ModelConfig(architecture="encoder-only", vocab_size=tokenizer.vocab_size,
                                    d_model=96, n_heads=12, n_encoder_layers=12, n_decoder_layers=0,
                                    d_ff=192, dropout=0.0)
        model = engine.create(config, tokenizer, "grid benchmark")
        state = self.shim.AppState()
        state.set_model(model)
        state.set_trace(model.run(sentence_of(512)))
        trace = state.trace
        stack = trace.attention["encoder"]
        view = self.shim.HeadGridView(state)
        view.resize(1400, 900)
        view.show()
        self.app.processEvents()
        self.view = view
        info["shapes"] = {"encoder": list(stack.shape)}
        shim = self.shim

        def paint():
            state.set_trace(trace)
            view.graphics.grab()

        self.cases["grid 512: pool + mosaic"] = lambda: shim.build_mosaic(
            shim.pool_patterns(stack, view.thumbnail_side), 1)
        self.cases["grid 512: new trace (whole update)"] = lambda: state.set_trace(trace)
        self.cases["grid 512: update + paint"] = paint
        self.cases["grid 512: kind already drawn"] = view.refresh

    # ---- the loop ------------------------------------------------------------------------
    def serve(self) -> None:
        for line in sys.stdin:
            name = line.strip()
            if not name:
                continue
            fn = self.cases[name]
            start = time.perf_counter()
            result = fn()
            elapsed = (time.perf_counter() - start) * 1000
            ms = result if isinstance(result, float) else elapsed
            print(json.dumps({"case": name, "ms": ms}), flush=True)


# =============================================================================================
# Driver side.
# =============================================================================================
def env_for(root: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen")
    return env


class Remote:
    def __init__(self, label: str, root: Path, group: str) -> None:
        self.label = label
        self.proc = subprocess.Popen([sys.executable, str(HERE), "--worker", group], cwd=root,
                                     env=env_for(root), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.info = json.loads(self.proc.stdout.readline())
        if not self.info["engine"].startswith(str(root)):
            raise SystemExit(f"{label} imported {self.info['engine']}, not {root}")

    def ask(self, case: str) -> float:
        self.proc.stdin.write(case + "\n")
        reply = self.proc.stdout.readline()
        if not reply:
            raise SystemExit(f"{self.label} worker died on {case!r}")
        return json.loads(reply)["ms"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def summarize(name: str, old: list[float], new: list[float], unit: str = "ms") -> dict:
    mo, mn = statistics.median(old), statistics.median(new)
    paired = statistics.median(n / o for o, n in zip(old, new, strict=True))
    return {"case": name, "old": mo, "new": mn, "ratio": mn / mo, "paired_ratio": paired,
            "rounds": len(old), "unit": unit,
            "old_range": (min(old), max(old)), "new_range": (min(new), max(new))}


def in_process_group(group: str, roots: dict, rounds: int, warmup: int) -> list[dict]:
    remotes = {label: Remote(label, root, group) for label, root in roots.items()}
    for label, remote in remotes.items():
        print(f"  {label}: {json.dumps(remote.info)}", file=sys.stderr)
    cases = remotes["old"].info["cases"]
    if cases != remotes["new"].info["cases"]:
        raise SystemExit("the two workers offer different cases")
    results = []
    for case in cases:
        for _ in range(warmup):
            for remote in remotes.values():
                remote.ask(case)
        times = {"old": [], "new": []}
        for r in range(rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for label in order:
                times[label].append(remotes[label].ask(case))
                time.sleep(0.05)  # let the other process's idle pool threads go to sleep
        results.append(summarize(case, times["old"], times["new"]))
        print(f"  {case}: {results[-1]['old']:.1f} -> {results[-1]['new']:.1f} ms "
              f"({results[-1]['ratio']:.2f})", file=sys.stderr)
    for remote in remotes.values():
        remote.close()
    return results


STARTUP_PROBE = r"""
import json, os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow
marks = {"interpreter": time.monotonic()}
app = QApplication([sys.argv[0]])
class Probe(QObject):
    def eventFilter(self, obj, event):
        kind = event.type()
        if kind == QEvent.Type.Show and isinstance(obj, QMainWindow) and "shown" not in marks:
            marks["shown"] = time.monotonic()
        elif kind == QEvent.Type.Paint and "shown" in marks and hasattr(obj, "window") \
                and isinstance(obj.window(), QMainWindow):
            marks["painted"] = time.monotonic()
            print(json.dumps(marks), flush=True)
            os._exit(0)
        return False
probe = Probe()
app.installEventFilter(probe)
sys.argv = ["main.py"]
sys.path.insert(0, os.getcwd())
import main
main.main([])
"""


def startup_group(roots: dict, runs: int) -> list[dict]:
    times = {key: {"old": [], "new": []} for key in ("shown", "painted", "screenshot")}
    shot = Path("/tmp/compare_versions_shot")
    shot.mkdir(exist_ok=True)
    for root in roots.values():  # warm the file cache and the bytecode once each
        subprocess.run([sys.executable, "-c", STARTUP_PROBE], cwd=root, env=env_for(root),
                       capture_output=True, text=True, timeout=120)
    for r in range(runs):
        order = ("old", "new") if r % 2 == 0 else ("new", "old")
        for label in order:
            root = roots[label]
            start = time.monotonic()
            out = subprocess.run([sys.executable, "-c", STARTUP_PROBE], cwd=root, env=env_for(root),
                                 capture_output=True, text=True, timeout=120)
            marks = json.loads(out.stdout.strip().splitlines()[-1])
            times["shown"][label].append((marks["shown"] - start) * 1000)
            times["painted"][label].append((marks["painted"] - start) * 1000)
        for label in order:
            root = roots[label]
            start = time.monotonic()
            out = subprocess.run([sys.executable, "main.py", "--screenshot", str(shot / f"{label}.png")],
                                 cwd=root, env=env_for(root), capture_output=True, text=True, timeout=300)
            if out.returncode != 0:
                raise SystemExit(f"{label} screenshot failed: {out.stderr[-2000:]}")
            times["screenshot"][label].append((time.monotonic() - start) * 1000)
        print(f"  start-up run {r + 1}/{runs} done", file=sys.stderr)
    names = {"shown": "launch -> main window shown", "painted": "launch -> window's first paint",
             "screenshot": "main.py --screenshot end to end (first trace drawn, PNG, exit)"}
    return [summarize(names[key], t["old"], t["new"]) for key, t in times.items()]


def tests_group(roots: dict, runs: int) -> list[dict]:
    times = {"old": [], "new": []}
    outcomes = {"old": [], "new": []}
    for r in range(runs):
        order = ("old", "new") if r % 2 == 0 else ("new", "old")
        for label in order:
            root = roots[label]
            start = time.monotonic()
            out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                  "--durations=0", "--durations-min=0"],
                                 cwd=root, env=env_for(root), capture_output=True, text=True)
            times[label].append(time.monotonic() - start)
            Path(f"/tmp/compare_versions_pytest_{label}_{r}.txt").write_text(out.stdout)  # slowest tests
            last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-300:]
            outcomes[label].append(last)
            print(f"  pytest {label}: {times[label][-1]:.1f} s, {last}", file=sys.stderr)
    result = summarize("python -m pytest -q", times["old"], times["new"], unit="s")
    result["outcomes"] = outcomes
    return [result]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--old", type=Path, default=Path("/tmp/base"))
    parser.add_argument("--new", type=Path, default=HERE.parents[1])
    parser.add_argument("--groups", nargs="+", default=["forward", "attention", "grid", "startup", "tests"])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per in-process case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds per case and version")
    parser.add_argument("--startup-runs", type=int, default=6)
    parser.add_argument("--test-runs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.worker:
        Worker(args.worker).serve()
        return
    roots = {"old": args.old.resolve(), "new": args.new.resolve()}
    all_results = {}
    for group in args.groups:
        load_before = os.getloadavg()
        print(f"{group} (load {load_before[0]:.2f})", file=sys.stderr)
        if group == "startup":
            results = startup_group(roots, args.startup_runs)
        elif group == "tests":
            results = tests_group(roots, args.test_runs)
        else:
            results = in_process_group(group, roots, args.rounds, args.warmup)
        all_results[group] = {"load_before": load_before, "load_after": os.getloadavg(), "results": results}
        print(f"\n{group}: load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
        print("| case | old | new | new/old | paired median | rounds |")
        print("|---|---:|---:|---:|---:|---:|")
        for res in results:
            unit = res["unit"]
            print(f"| {res['case']} | {res['old']:.1f} {unit} | {res['new']:.1f} {unit} | {res['ratio']:.2f} "
                  f"| {res['paired_ratio']:.2f} | {res['rounds']} |", flush=True)
        if args.json:
            args.json.write_text(json.dumps(all_results, indent=1))


if __name__ == "__main__":
    main()
