"""What a Run click leaves to the GUI thread: no moving bar through a short run, the heatmap's
masks from the run itself, and logits too costly to compute there filled in from a pool thread."""

import threading
import time

import numpy as np
import pytest

import engine
from tests.visualizer.conftest import PAIR
from tests.visualizer.test_single_stack import guesses
from visualizer import run_controller
from visualizer.state import prediction_rows
from visualizer.widgets.input_panel import COMPUTING
from visualizer.widgets.run_progress_row import STARTING_AFTER_MS

TIMEOUT = 30_000
DEFERRED = hasattr(engine.Trace, "logits_computed")  # the engine computes logits when first read


def test_a_short_run_moves_no_bar_and_a_slow_start_says_starting(window, qtbot, monkeypatch):
    row, seen = window.run_progress, []
    window.controller.busyChanged.connect(lambda busy, _text: seen.append(
        (busy, window.busy_bar.isVisibleTo(window), row.bar.isVisibleTo(window) and row.bar.maximum() == 0)))
    window.controller.runProgress.connect(lambda *_: seen.append(("layer", row.bar.maximum())))
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.run(*PAIR)
    layers = window.state.model.config.n_encoder_layers + window.state.model.config.n_decoder_layers
    # Neither the status bar's moving bar nor "starting…": the row shows layers as they end.
    assert seen == [(True, False, False), *[("layer", layers)] * layers, (False, False, False)]
    assert row.isHidden()

    release = threading.Event()
    original = run_controller._run
    monkeypatch.setattr(run_controller, "_run", lambda *a: release.wait(10) and original(*a))
    start = time.monotonic()
    window.run("the dog runs", "le chien court")  # held before its first layer
    qtbot.waitUntil(lambda: not row.bar.isHidden(), timeout=TIMEOUT)
    assert time.monotonic() - start >= STARTING_AFTER_MS / 1000 * 0.9  # timers may fire a bit early
    assert (row.bar.maximum(), row.bar.format()) == (0, "starting…")  # a moving bar
    assert row.cancel_button.isVisibleTo(window)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        release.set()
    assert row.isHidden() and window.state.trace.source_tokens[:3] == ["the", "dog", "runs"]


def gui_thread_products(monkeypatch, model) -> list[bool]:
    """Records each vocabulary product (a trace's logits computed) made on the GUI thread."""
    products, vocabulary = [], model.module.vocabulary

    def counted(hidden):
        products.append(threading.current_thread() is threading.main_thread())
        return vocabulary(hidden)

    monkeypatch.setattr(model.module, "vocabulary", counted)
    return products


@pytest.mark.skipif(not DEFERRED, reason="the engine computes the logits during the run")
def test_logits_too_costly_for_the_gui_thread_come_from_a_pool_thread(window, qtbot, monkeypatch):
    monkeypatch.setattr(prediction_rows, "INLINE_LOGITS_WORK", 0)  # every vocabulary product
    panel, seen = window.input_panel, []
    products = gui_thread_products(monkeypatch, window.state.model)

    def on_trace(trace):  # after every view drew the new trace
        window.state.set_hover("target", 1)
        seen.append((list(products), panel.output_view.text(), panel.hover_predictions.text()))

    window.traceChanged.connect(on_trace)
    with qtbot.waitSignal(window.controller.predictionsReady, timeout=TIMEOUT) as ready:
        window.run(*PAIR)
    trace = window.state.trace
    assert ready.args == [trace]
    assert seen == [([], COMPUTING, COMPUTING)]  # nothing computed them yet
    assert products == [False]  # then once, on the pool thread
    direct = window.state.model.run(*PAIR)  # the same run, its logits read at once
    assert trace.predicted_tokens == direct.predicted_tokens
    assert panel.output_view.text() == "Predicted: " + " ".join(direct.predicted_tokens)
    logits = np.asarray(direct.logits)
    assert np.abs(trace.logits - logits).max() <= 1e-5
    word = trace.target_tokens[1]
    assert panel.hover_predictions.text() == f'after "{word}" #1: {guesses(window.state.model, logits[1], 5)}'


@pytest.mark.skipif(not DEFERRED, reason="the engine computes the logits during the run")
def test_a_decoded_run_and_a_hover_during_the_next_compute_no_logits_on_the_gui_thread(
        window, qtbot, monkeypatch):
    products = gui_thread_products(monkeypatch, window.state.model)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.run(PAIR[0], "")  # decoded: the Output line is the text the model wrote
    assert window.input_panel.output_view.text() == window.state.trace.output_text
    release = threading.Event()
    original = run_controller._run
    monkeypatch.setattr(run_controller, "_run", lambda *a: release.wait(10) and original(*a))
    window.run("the dog runs", "")  # holds the model's run lock until released
    window.state.set_hover("target", 1)
    # Cheap logits too: computing them now would wait for the run's lock, the window frozen.
    assert window.input_panel.hover_predictions.text() == COMPUTING
    assert True not in products  # (the decoding steps' products ran on the pool thread)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        release.set()
    trace, model = window.state.trace, window.state.model
    word, logits = trace.target_tokens[1], np.asarray(model.run("the dog runs").logits)
    assert window.input_panel.hover_predictions.text() == \
        f'after "{word}" #1: {guesses(model, logits[1], 5)}'


@pytest.mark.skipif(not hasattr(engine.Trace, "masked_cells"), reason="traces keep no masks")
def test_the_heatmap_greys_the_run_s_own_masks_without_replaying_scores(window, qtbot, monkeypatch):
    from engine import lean_recording

    def replayed(*_args):
        raise AssertionError("a .scores array was replayed on the GUI thread")

    monkeypatch.setattr(lean_recording.LayerReplay, "value", replayed)
    window.state.set_selection(kind="decoder", layer=1)
    with qtbot.waitSignal(window.traceChanged, timeout=TIMEOUT):
        window.run(*PAIR)
    target = len(window.state.trace.target_tokens)
    causal = np.triu(np.ones((target, target), dtype=bool), k=1)  # a query never sees a later key
    assert np.array_equal(window.state.masked_cells("decoder", 1), causal)  # what the heatmap greys

