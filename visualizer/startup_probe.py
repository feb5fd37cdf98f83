"""``python main.py --startup-times``: print when the window is shown and the first trace drawn.

For the start-up benchmark (benchmarks/startup.py). Each mark is one JSON line on stdout,
``{"mark": "shown", "monotonic": 12345.678}``, read against the clock the parent process read
before starting this one (``time.monotonic`` is one clock for every process of the machine).
The app exits after the first trace is drawn, or with 1 after an error.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer


def print_mark(mark: str, **extra) -> None:
    print(json.dumps({"mark": mark, "monotonic": time.monotonic(), **extra}), flush=True)


class StartupProbe(QObject):
    """Watches the window's paints: the first is "shown"; the first after a trace is "trace"."""

    def __init__(self, app, window, timeout_ms: int):
        super().__init__(window)
        self.app, self.window = app, window
        self.code = 1
        self._trace_pending = False
        self._shown = False
        window.traceChanged.connect(self._on_trace)
        window.errorOccurred.connect(self._on_error)
        app.installEventFilter(self)
        QTimer.singleShot(timeout_ms, lambda: self._on_error("timed out waiting for a trace"))

    def _on_trace(self, _trace) -> None:
        self._trace_pending = True
        self.window.attention_view.plot_widget.viewport().update()  # its next paint shows the trace

    def _on_error(self, message: str) -> None:
        print(f"startup-times: {message}", file=sys.stderr)
        self._quit(1)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() != QEvent.Type.Paint or not hasattr(watched, "window") \
                or watched.window() is not self.window:
            return False
        if not self._shown:
            self._shown = True
            print_mark("shown")
        elif self._trace_pending and watched is self.window.attention_view.plot_widget.viewport():
            self._trace_pending = False
            # The mark follows the paint that shows the trace: the filter runs before it.
            QTimer.singleShot(0, lambda: (print_mark("trace"), self._quit(0)))
        return False

    def _quit(self, code: int) -> None:
        self.code = code
        self.app.removeEventFilter(self)
        self.window.close()
        self.app.quit()


def run_with_probe(app, window, timeout_ms: int) -> int:
    probe = StartupProbe(app, window, timeout_ms)
    app.exec()
    return probe.code
