"""A window built once per test module, hidden, with a trace of a sentence pair (a window and its
first load cost seconds; tests that only drive panes can share one)."""

from __future__ import annotations

import time

TIMEOUT_S = 60.0


def wait_idle(qapp, window, until=lambda: True) -> None:
    """Process events until no load or run is pending, no pool thread works (run B, the lens
    and rollout tabs' background numbers) and ``until()`` holds."""
    from visualizer.worker import busy_pools

    end = time.monotonic() + TIMEOUT_S
    while time.monotonic() < end:
        qapp.processEvents()
        if not window.controller.busy and not busy_pools() and until():
            qapp.processEvents()
            return
        time.sleep(0.005)  # let the pool thread have the GIL
    raise TimeoutError("the window did not finish its work")


def traced_hidden_window(qapp, checkpoint, source: str, target: str):
    from visualizer import MainWindow

    window = MainWindow(checkpoint=checkpoint)  # never shown: its startup load never starts
    window.load_checkpoint(checkpoint)
    wait_idle(qapp, window, lambda: window.state.trace is not None)
    window.run(source, target)
    wait_idle(qapp, window, lambda: window.state.trace_inputs == (source, target))
    return window


def close(qapp, window) -> None:
    window.close()
    window.deleteLater()
    qapp.processEvents()
