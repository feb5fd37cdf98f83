"""The GUI rows, offscreen, in the whole main window: interactions at 2,048 tokens, and a Run
click against the bare engine run on the same input.

One interaction is the change a user makes (a real mouse-move event on the heatmap, or the
selection setter every selector calls) followed by ``processEvents()``, which delivers the
repaint Qt scheduled: the time until the heatmap has painted the change, as a frame would
show it. A paint probe on the heatmap checks that every timed interaction did paint.
"""

from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
from pathlib import Path

from .rounds import interleave
from .rows import BY_KEY, Result

TOKENS = {"full": 2048, "tiny": 40}
RUN_TOKENS = {"full": 512, "tiny": 16}
GUI_WORDS = "the a cat dog sees small big red house sleeps runs and".split()
# pyqtgraph drops mouse moves that come within 10 ms of the last one (its mouseRateLimit, 100/s);
# a real mouse reports every 8-16 ms. Timed moves are this far apart.
MOUSE_GAP_S = 0.012


def application():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["benchmarks"])
    settings = tempfile.mkdtemp(prefix="bench-settings-")  # never the user's recent files
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, settings)
    return app


class PaintProbe:
    """Counts the paints of a widget (the heatmap's viewport)."""

    def __init__(self, widget):
        from PySide6.QtCore import QEvent, QObject

        class Filter(QObject):
            count = 0

            def eventFilter(self, _watched, event):  # noqa: N802 (Qt's name)
                if event.type() == QEvent.Type.Paint:
                    Filter.count += 1
                return False

        self.filter = Filter()
        widget.installEventFilter(self.filter)

    @property
    def count(self) -> int:
        return self.filter.count


def wait_for_trace(app, window, timeout_s: float = 600) -> None:
    """Wait in an event loop, as the app's own loop does: it sleeps until an event comes.
    (A loop of ``processEvents`` returns at once when nothing is pending and keeps a core busy,
    the core the run's second torch thread needs on a 2-core machine.)"""
    from PySide6.QtCore import QEventLoop, QTimer

    seen, errors = [], []
    loop = QEventLoop()

    def arrived(value, into):
        into.append(value)
        loop.quit()

    on_trace, on_error = (lambda value: arrived(value, seen)), (lambda value: arrived(value, errors))
    window.traceChanged.connect(on_trace)
    window.errorOccurred.connect(on_error)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    try:
        loop.exec()
    finally:
        window.traceChanged.disconnect(on_trace)
        window.errorOccurred.disconnect(on_error)
    if errors or not seen:
        raise RuntimeError(f"no trace: {errors[0] if errors else 'timed out'}")


def open_window(app, model, folder: Path):
    """The main window on ``model`` (saved and opened as a user would), its first trace shown."""
    from visualizer.main_window import MainWindow

    path = folder / "model.safetensors"
    model.save(path)
    window = MainWindow(checkpoint=path, show_dialogs=False)
    window.resize(1400, 900)
    window.show()
    wait_for_trace(app, window)
    return window


def sentence(tokens: int) -> str:
    return " ".join(GUI_WORDS[i % len(GUI_WORDS)] for i in range(tokens - 1))


# ---- interactions at 2,048 tokens ---------------------------------------------------------
def heatmap_model(scale: str):
    import engine

    tokenizer = engine.word_level_tokenizer(GUI_WORDS)
    config = engine.ModelConfig(architecture="encoder-decoder", vocab_size=tokenizer.vocab_size,
                                d_model=96 if scale == "full" else 32, n_heads=12, n_encoder_layers=2,
                                n_decoder_layers=2, d_ff=192, dropout=0.0, max_positions=4096)
    return engine.create(config, tokenizer, "heatmap benchmark")


class Interactions:
    """Times one kind of interaction at a time on a window showing a long trace."""

    def __init__(self, app, window):
        self.app, self.window, self.state = app, window, window.state
        self.view = window.attention_view
        self.probe = PaintProbe(self.view.plot_widget.viewport())
        self._fraction = 0

    def frame(self, change) -> float:
        """Milliseconds from ``change()`` to the heatmap painted."""
        before = self.probe.count
        start = time.perf_counter()
        change()
        self.app.processEvents()
        elapsed = (time.perf_counter() - start) * 1000
        if self.probe.count == before:
            raise RuntimeError("the interaction painted nothing: the benchmark would time no frame")
        return elapsed

    def at(self, **selection) -> None:
        self.state.set_selection(**selection)
        self.app.processEvents()

    def mouse_to(self, fraction: float) -> None:
        from PySide6.QtCore import QEvent, QPointF, Qt
        from PySide6.QtGui import QMouseEvent

        view = self.view
        rect = view.plot.vb.sceneBoundingRect()
        scene = QPointF(rect.left() + rect.width() * fraction, rect.top() + rect.height() * fraction)
        local = QPointF(view.plot_widget.mapFromScene(scene))
        viewport = view.plot_widget.viewport()
        event = QMouseEvent(QEvent.Type.MouseMove, local, QPointF(viewport.mapToGlobal(local.toPoint())),
                            Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
        self.app.sendEvent(viewport, event)

    # each returns the median of a few changes, in ms
    def hover(self) -> float:
        self.at(kind="decoder", layer=0, head=0)
        times = []
        for _ in range(4):
            self._fraction = (self._fraction + 1) % 9
            time.sleep(MOUSE_GAP_S)
            times.append(self.frame(lambda: self.mouse_to(0.3 + 0.05 * self._fraction)))
        if self.state.hover[1] < 0:
            raise RuntimeError("the mouse moves hovered no cell")
        return statistics.median(times)

    def _switches(self, start: dict, changes: list[dict]) -> float:
        self.at(**start)
        return statistics.median(self.frame(lambda c=c: self.state.set_selection(**c)) for c in changes)

    def head(self) -> float:
        return self._switches(dict(kind="decoder", layer=0, head=0), [dict(head=h) for h in (1, 2, 3, 0)])

    def layer(self) -> float:
        return self._switches(dict(kind="decoder", layer=0, head=0), [dict(layer=n) for n in (1, 0, 1, 0)])

    def kind(self) -> float:
        return self._switches(dict(kind="encoder", layer=0, head=0),
                              [dict(kind=k) for k in ("decoder", "cross", "encoder", "decoder")])

    def mean(self) -> float:
        """head 0 → mean on a layer whose mean was shown before (untimed visit first)."""
        self.at(kind="decoder", layer=1, head="mean")
        times = []
        for _ in range(3):
            self.at(head=0)
            times.append(self.frame(lambda: self.state.set_selection(head="mean")))
        return statistics.median(times)

    def mean_first(self) -> float:
        """head 0 → mean right after a run: the trace is a new object, nothing of it is cached."""
        self.at(kind="decoder", layer=1, head=0)
        self.state.set_trace(copy.copy(self.state.trace), self.state.trace_inputs)
        self.app.processEvents()
        return self.frame(lambda: self.state.set_selection(head="mean"))


GUI_ROWS = {"gui-hover": "hover", "gui-head": "head", "gui-layer": "layer", "gui-kind": "kind",
            "gui-mean": "mean", "gui-mean-first": "mean_first"}


def gui_group(scale: str, rounds: int, warmup: int, wanted: set[str]) -> list[Result]:
    app = application()
    tokens = TOKENS[scale]
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as folder:
        window = open_window(app, heatmap_model(scale), Path(folder))
        try:
            text = sentence(tokens)
            window.run(text, text)
            wait_for_trace(app, window)
            app.processEvents()
            shapes = {kind: stack.shape for kind, stack in window.state.trace.attention.items()}
            timer = Interactions(app, window)
            keys = [key for key in GUI_ROWS if key in wanted]
            samples = interleave({key: getattr(timer, GUI_ROWS[key]) for key in keys}, rounds, warmup,
                                 pause=0.05)
        finally:
            window.close()
            app.processEvents()
    heads, queries, keys_ = shapes["decoder"][1:]
    return [Result(BY_KEY[key], samples.median(key),
                   f"median of {rounds} rounds (range {samples.spread(key)[0]:.1f}–"
                   f"{samples.spread(key)[1]:.1f} ms); decoder {heads} heads × {queries} × {keys_}")
            for key in keys]


# ---- Run click against the bare run ------------------------------------------------------
def run_click_group(scale: str, rounds: int, warmup: int, wanted: set[str]) -> list[Result]:
    from . import engine_cases as cases

    app = application()
    shape = (cases.TINY if scale == "tiny" else cases.FULL)["bert"]
    shape = type(shape)(**{**shape.__dict__, "tokens": RUN_TOKENS[scale]})
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        window = open_window(app, cases.our_model("bert", shape), Path(folder))
        try:
            text = cases.text_of(shape)
            window.input_panel.source_input.setText(text)
            model = window.state.model
            probe = PaintProbe(window.attention_view.plot_widget.viewport())

            def click() -> float:
                painted = probe.count
                start = time.perf_counter()
                window.input_panel.run_button.click()
                wait_for_trace(app, window)
                while probe.count == painted:  # shown: the heatmap has painted the new trace
                    app.processEvents()
                return (time.perf_counter() - start) * 1000

            samples = interleave({"Run click": click, "bare run": lambda: model.run(text)}, rounds, warmup,
                                 pause=0.1)
            tokens = len(window.state.trace.source_tokens)
        finally:
            window.close()
            app.processEvents()
    return [Result(BY_KEY["run-click"], samples.ratio("Run click", "bare run"),
                   f"Run click {samples.median('Run click'):.0f} ms / bare `model.run` "
                   f"{samples.median('bare run'):.0f} ms (torch's {torch_threads()} threads), "
                   f"{tokens} tokens, {rounds} rounds")]


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()
