"""RunController: the one place that loads checkpoints and runs the model, off the GUI thread.

It decides when a run is needed (the user asked, a model was opened, the ablated heads or a
decoder-only model's continuation budget changed), runs what the state holds (inputs, ablation,
budget, model), and puts the result into the state, whose ``traceChanged`` is the one trace signal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from . import startup_defaults
from .load_threads import load_model
from .run_watch import RunSignals, RunWatch
from .state.app_state import AppState
from .state.prediction_rows import logits_pending
from .worker import Task, TaskSignals, make_pool


def _load(path: str):
    model = load_model(path)  # imports torch on first use (~2 s): always on a pool thread
    # A run whose whole trace would outgrow the memory budget (a quarter of the memory free)
    # keeps the residual stream and replays a layer when it is read, instead of being refused.
    model.lean_over_budget = True
    return model


def _run(model, source: str, target: str, ablate, budget, watch: RunWatch):
    import engine

    # The GUI thread only waits meanwhile: the run gets every core unless it is too small to
    # share (engine/threads.py says why).
    with engine.run_threads(model, source, target):
        return model.run(source, target or None, ablate=ablate, max_new_tokens=budget,
                         progress=watch.progress, should_stop=watch.should_stop)


def _predict(model, trace, inputs: tuple[str, str]):
    import engine

    with engine.run_threads(model, *inputs):
        return len(trace.predicted_tokens)  # computes the logits first (engine.on_first_read)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    known = type(error).__name__ in ("CheckpointError", "InputError")
    return text if known and text else f"{type(error).__name__}: {text or 'no details'}"


class RunController(QObject):
    """Owns the worker pool. Only the latest load and the latest run are applied.

    Every request has a generation number; a load makes every older run stale, since its trace
    would belong to the previous model.

    Signals:
        busyChanged(bool, str): work is pending (True) with a description, or everything is done.
        modelLoaded(object, str): a model became current in the state; its path.
        loadFailed(str, str): the path and the problem; the previous model stays current.
        runFailed(str): the problem of the latest run.
        runProgress(int, int): layers the latest run has done, and the most it will take.
        runCancelled(): the latest run stopped at the user's Cancel; the previous trace stays.
        predictionsReady(object): this trace's logits and predicted tokens are computed now
            (``compute_predictions``), so reading them costs nothing.
    """

    busyChanged = Signal(bool, str)
    modelLoaded = Signal(object, str)
    loadFailed = Signal(str, str)
    runFailed = Signal(str)
    runProgress = Signal(int, int)
    runCancelled = Signal()
    predictionsReady = Signal(object)

    def __init__(self, state: AppState, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self._pool = make_pool(1, self)  # before self._signals: see make_pool
        self._generation = 0
        self._latest = {"load": -1, "run": -1}  # the only generations whose results count
        self._pending: dict[int, tuple[str, str, tuple[str, str]]] = {}  # id -> (what, path, inputs)
        self._run_after_load = False
        self._budget = state.max_new_tokens  # the continuation budget of the last run asked for
        # Created here, on the GUI thread: queued emissions land back on this thread.
        self._signals = TaskSignals(self)
        self._signals.finished.connect(self._on_task_finished)
        self._signals.failed.connect(self._on_task_failed)
        self._signals.skipped.connect(self._on_task_skipped)
        self._run_signals = RunSignals(self)
        self._run_signals.progressed.connect(self._on_run_progress)
        self._watch: RunWatch | None = None  # the latest run's, until another replaces it
        self._predicting: dict[int, object] = {}  # request id -> trace whose predictions are computed
        self._prediction_signals = TaskSignals(self)
        self._prediction_signals.finished.connect(self._on_predictions_done)
        self._prediction_signals.failed.connect(self._on_predictions_failed)
        self._prediction_signals.skipped.connect(self._on_predictions_skipped)
        state.ablationChanged.connect(self._on_ablation_changed)
        state.optionsChanged.connect(self._on_options_changed)

    # ---- requests ------------------------------------------------------------------------
    def load(self, path) -> int:
        """Open ``path`` in the background; the current model stays until it succeeds."""
        path = str(path)
        self.state.set_loading(Path(path).name)
        self._stop_run()  # its trace would belong to the previous model
        rid = self._submit("load", lambda: _load(path), path, f"Loading {Path(path).name}…")
        self._latest["run"] = rid  # a run of the old model must not land on the new one
        return rid

    def run(self) -> int:
        """Run the current model on the state's inputs and ablation; returns the request id.

        During a load the run waits for it and then uses whichever model is current.
        """
        if self._latest["load"] in self._pending:
            self._run_after_load = True
            return -1
        state = self.state
        if state.model is None:
            self.runFailed.emit("no model is loaded: open a checkpoint first")
            return -1
        if not state.source_text.strip():
            self.runFailed.emit("type a source sentence first")
            return -1
        model, inputs = state.model, (state.source_text, state.target_text)
        ablate = tuple(sorted(state.ablated))
        self._budget = state.max_new_tokens
        # Only a decoder-only prompt is continued by the user's budget; None is the engine's default
        # (an encoder-decoder model decodes up to its own max_decode_length).
        budget = self._budget if model.config.architecture == "decoder-only" else None
        self._stop_run()  # the run in flight is stale now: stop it at its next layer
        watch = self._watch = RunWatch(self._run_signals)
        return self._submit("run", lambda: _run(model, inputs[0], inputs[1], ablate, budget, watch),
                            "", "Running the model…", inputs)

    def compute_predictions(self) -> None:
        """Compute the current trace's logits and predicted tokens on the pool thread, once,
        after the window has painted what is ready; ``predictionsReady(trace)`` says when.

        A trace may compute them when first read (the vocabulary product): a reader that cannot
        wait on the GUI thread shows them when ready. Skipped if another run or load comes first.
        """
        trace = self.state.trace
        if trace is None or any(t is trace for t in self._predicting.values()) or not logits_pending(trace):
            return
        rid = self._generation
        self._generation += 1
        self._predicting[rid] = trace
        # A 0 ms timer fires after the repaints already posted: the new trace is on screen first.
        QTimer.singleShot(0, self, lambda: self._start_predictions(rid))

    def _start_predictions(self, rid: int) -> None:
        trace, state = self._predicting.get(rid), self.state

        def current(_rid: int) -> bool:  # asked on the pool thread: a run or load waiting goes first
            return state.trace is trace and not self._pending

        if trace is None or not current(rid):
            self._predicting.pop(rid, None)
            return
        model, inputs = state.model, state.trace_inputs
        self._pool.start(Task(rid, lambda: _predict(model, trace, inputs), self._prediction_signals, current))

    def _on_predictions_done(self, rid: int, _result) -> None:
        trace = self._predicting.pop(rid, None)
        if trace is not None and trace is self.state.trace:
            self.predictionsReady.emit(trace)

    def _on_predictions_failed(self, rid: int, error) -> None:
        trace = self._predicting.pop(rid, None)
        if trace is not None and trace is self.state.trace:
            self.runFailed.emit(f"the predictions could not be computed: {_describe(error)}")

    def _on_predictions_skipped(self, rid: int) -> None:
        self._predicting.pop(rid, None)  # a newer trace is coming; a reader may ask again

    def cancel(self) -> None:
        """Stop the run in flight at its next layer's end; the trace on screen stays."""
        if self.running:
            self._watch.stop()

    def _stop_run(self) -> None:
        if self._watch is not None:
            self._watch.stop()

    def _on_ablation_changed(self) -> None:
        # The trace on screen must always be of the heads the user sees as ablated.
        if self.state.model is not None and self.state.source_text.strip():
            self.run()

    def _on_options_changed(self) -> None:
        # A new continuation budget changes what a decoder-only model writes: show it.
        state = self.state
        if state.max_new_tokens != self._budget and state.model is not None \
                and state.model.config.architecture == "decoder-only" and not state.target_text \
                and state.source_text.strip():
            self.run()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def running(self) -> bool:
        """Whether the latest run is queued or in flight (and not cancelled)."""
        return self._latest["run"] in self._pending and self._watch is not None \
            and not self._watch.stopped

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool is idle (on close and in tests); queued signals still need events."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Drop queued work and wait for the running task, so no thread outlives the window."""
        self._latest = {"load": -2, "run": -2}
        self._stop_run()  # a long run ends at its next layer rather than holding the close
        self._pool.clear()
        self._pool.waitForDone()

    # ---- plumbing ------------------------------------------------------------------------
    def _submit(self, what: str, function, path: str, description: str,
                inputs: tuple[str, str] = ("", "")) -> int:
        rid = self._generation
        self._generation += 1
        self._latest[what] = rid
        self._pending[rid] = (what, path, inputs)
        self.busyChanged.emit(True, description)
        self._pool.start(Task(rid, function, self._signals, self._is_current))
        return rid

    def _is_current(self, rid: int) -> bool:
        return rid in self._latest.values()  # read from pool threads: a dict lookup is atomic enough

    def _finish(self, rid: int):
        entry = self._pending.pop(rid, None)
        if entry is not None and entry[0] == "load" and rid == self._latest["load"]:
            self.state.set_loading("")
        if not self._pending:
            self.busyChanged.emit(False, "")
        return entry if entry is not None and self._is_current(rid) else None

    def _on_task_finished(self, rid: int, result) -> None:
        entry = self._finish(rid)
        if entry is None:
            return  # stale: a newer request of the same kind was made meanwhile
        what, path, inputs = entry
        if what == "run":
            self.state.set_trace(result, inputs)
            return
        # Every model opens on its most telling head, when its training summary names one.
        self.state.set_model(result, startup_defaults.opening_selection(result))
        self.modelLoaded.emit(result, path)  # listeners may fill in an example sentence
        self._run_after_load = False
        self.run()

    def _on_task_failed(self, rid: int, error) -> None:
        entry = self._finish(rid)
        if entry is None:
            return
        what, path, _inputs = entry
        if what == "run":
            if type(error).__name__ == "Cancelled":  # engine.Cancelled: the user's Cancel
                self.runCancelled.emit()
            else:
                self.runFailed.emit(_describe(error))
            return
        self.loadFailed.emit(path, _describe(error))
        if self._run_after_load and self.state.model is not None:
            self._run_after_load = False
            self.run()

    def _on_task_skipped(self, rid: int) -> None:
        self._finish(rid)

    def _on_run_progress(self, watch: RunWatch, done: int, total: int) -> None:
        if watch is self._watch and not watch.stopped:  # a stale run's progress is dropped
            self.runProgress.emit(done, total)
