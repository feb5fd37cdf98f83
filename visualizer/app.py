"""run_app: parse the command line, show the window at once, load the model behind it.

    python main.py [--checkpoint PATH] [--source TEXT] [--target TEXT] [--screenshot OUT.png]
"""

from __future__ import annotations

import argparse
import os
import sys

SCREENSHOT_TIMEOUT_MS = 180_000  # a first torch import on a busy machine can take a while
SETTLE_MS = 300  # let layouts and axes finish before grabbing the screenshot


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="transformer-inspector",
        description="See inside Transformer models: every head, every residual, every LayerNorm.",
        epilog="Headless plots and data: python main.py export --help")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="a .safetensors/.pt checkpoint or a Hugging Face model folder "
                             "(default: the shipped demo translator)")
    parser.add_argument("--source", metavar="TEXT", help="source sentence to run at start")
    parser.add_argument("--target", metavar="TEXT", help="target sentence (default: let the model decode)")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="render the window with a trace to this PNG and exit")
    parser.add_argument("--startup-times", action="store_true",
                        help="print (as JSON lines) when the window is shown and the first trace "
                             "drawn, then exit: for benchmarks/startup.py")
    return parser.parse_args(argv)


NO_DISPLAY_MESSAGE = ("transformer-inspector: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
                      "without one, render the window with `python main.py --screenshot FILE.png` or "
                      "write plots and data with `python main.py export` (see --help)")


def has_display() -> bool:
    """Whether Qt can open a window: a display on Linux, a chosen platform, or another OS."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_app(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.screenshot and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # screenshots work on a headless box
    if not has_display():
        # Qt would abort on its xcb plugin with a message about libraries, not about the display.
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Transformer Inspector")
    from .main_window import MainWindow  # after QApplication: pyqtgraph reads the app's palette

    window = MainWindow(checkpoint=args.checkpoint, show_dialogs=not (args.screenshot or args.startup_times))
    if args.source:
        window.input_panel.source_input.setText(args.source)
    if args.target:
        window.input_panel.target_input.setText(args.target)
    window.show()  # before torch is imported: the model loads on a pool thread behind a busy bar
    if args.screenshot:
        return take_screenshot(app, window, args.screenshot)
    if args.startup_times:
        from .startup_probe import run_with_probe

        return run_with_probe(app, window, SCREENSHOT_TIMEOUT_MS)
    return app.exec()


def take_screenshot(app, window, path: str) -> int:
    """Wait for the first trace (or an error), save the window to ``path``; 0 when a trace is shown."""
    from PySide6.QtCore import QTimer

    outcome = {"code": 1}

    def save_and_quit(code: int) -> None:
        outcome["code"] = code
        app.processEvents()
        if not window.grab().save(path):
            print(f"screenshot: could not write {path}", file=sys.stderr)
            outcome["code"] = 1
        window.close()
        app.quit()

    def on_error(message: str) -> None:
        print(f"screenshot: {message}", file=sys.stderr)
        QTimer.singleShot(0, lambda: save_and_quit(1))

    window.traceChanged.connect(lambda _trace: QTimer.singleShot(SETTLE_MS, lambda: save_and_quit(0)))
    window.errorOccurred.connect(on_error)
    if window.state.model is None and not window.loading:
        on_error("no default model found: pass --checkpoint PATH")
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: on_error("timed out waiting for a trace"))
    app.exec()
    return outcome["code"]
