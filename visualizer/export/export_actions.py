"""ExportActions: File → Export plot…, Export all heads…, Export data…, for the pane in front.

The pane in front makes the figure or the data from the state (never from another pane), so the
file is what the screen shows. A pane without a figure or data disables that menu item. For a
lean trace, whose layers are replayed when read, it is made on a pool thread from a snapshot of
the state at the click (OffThreadMake); the window stays responsive meanwhile.

A failure (an unwritable path, a bad size) reaches ``window.errorOccurred``, the status bar and
a dialog; the file on disk is replaced only by a complete new one, and the dialog remembers what
the user typed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog

from ..figures import DEFAULT_DPI, export_figure, figure_format, figure_size
from ..figures.colors import lookup_table
from ..panes import pane_named
from ..state.lean_traces import is_lean
from ..state.state_snapshot import snapshot_of
from ..widgets.export_dialog import ExportDialog, ExportOptions
from ..worker import Task, TaskSignals, make_pool
from .data_files import export_data
from .formats import dialog_filters, format_of, formats_for
from .off_thread_make import OffThreadMake

ALL_HEADS_PANE = "all-heads"


class ExportActions(QObject):
    """Adds the export actions to ``window.file_menu`` and runs them.

    The figure and data are made from the state on the GUI thread (so the file is what the
    screen shows at the click); rendering and writing run on a worker thread, so a 12 × 12-head
    grid at 512 tokens (seconds of painting) never freezes the window. Each export returns a
    request id; none is dropped.

    Signals:
        exported(str): a file was written (its path).
    """

    exported = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self._last: dict[str, ExportOptions] = {}  # per pane: the user's last choices
        self._pending: dict[int, Path] = {}  # request id -> the file being written
        self._next_id = 0
        self._closing = False  # the window is closing: made figures that need a dialog are dropped
        self._pool = make_pool()
        self._signals = TaskSignals(self)
        self._signals.finished.connect(self._on_written)
        self._signals.failed.connect(self._on_failed)
        self._off_thread = OffThreadMake(self)  # a lean trace's figures and data
        window.installEventFilter(self)  # wait for a running export when the window closes
        menu = window.file_menu
        menu.addSeparator()
        self.plot_action = menu.addAction("Export &plot…", lambda: self.export_plot())
        self.plot_action.setObjectName("exportPlotAction")
        self.plot_action.setShortcut(QKeySequence("Ctrl+E"))
        self.grid_action = menu.addAction("Export &all heads…", lambda: self.export_all_heads())
        self.grid_action.setObjectName("exportAllHeadsAction")
        self.data_action = menu.addAction("Export &data…", lambda: self.export_data())
        self.data_action.setObjectName("exportDataAction")
        self.state.traceChanged.connect(self._on_trace_changed)
        self.state.paneChanged.connect(self._on_pane_changed)
        self._update_actions()

    # ---- which actions apply --------------------------------------------------------------
    def _on_trace_changed(self, _trace) -> None:
        self._update_actions()

    def _on_pane_changed(self, _name: str) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        pane = self.front_pane()
        traced = self.state.trace is not None
        self.plot_action.setEnabled(traced and pane.figure is not None)
        self.data_action.setEnabled(traced and pane.data is not None)
        self.grid_action.setEnabled(traced)
        for action, output, what in ((self.plot_action, pane.figure, "plot"),
                                     (self.data_action, pane.data, "data")):
            action.setToolTip(f"Export the {pane.title} pane's {what}" if output is not None
                              else f"The {pane.title} pane has no {what} to export")

    def front_pane(self):
        return self.window.front_pane()

    # ---- the exports (a path skips the dialog: scripts and tests use it) ------------------
    def export_plot(self, path=None, width: int | None = None, height: int | None = None,
                    dpi: float = DEFAULT_DPI) -> int:
        """The front pane's figure as PNG, SVG or PDF; returns the request id (-1: nothing done)."""
        return self._export_figure(self.front_pane(), path, width, height, dpi)

    def export_all_heads(self, path=None, width: int | None = None, height: int | None = None,
                         dpi: float = DEFAULT_DPI) -> int:
        """Every layer × head of the selected kind as one grid figure, whichever pane is in front."""
        return self._export_figure(pane_named(ALL_HEADS_PANE), path, width, height, dpi,
                                   "Export all heads")

    def export_data(self, path=None) -> int:
        """The front pane's numbers as NPZ or CSV."""
        pane = self.front_pane()
        return self._made(pane, "data", lambda table, state, request_id: self._data_made(
            pane, table, path, state, request_id))

    def _data_made(self, pane, table, path, state, request_id: int | None) -> int:
        if path is None:
            if self._closing:
                return -1
            suggested = str(self._folder() / (pane.file_stem(state) + ".npz"))
            path, chosen = QFileDialog.getSaveFileName(self.window, "Export data", suggested,
                                                       dialog_filters("data"))
            if not path:
                return -1
            if not Path(path).suffix:  # a bare name: the chosen filter's format
                fmt = next((f for f in formats_for("data") if f.dialog_filter == chosen), None)
                path += "." + (fmt.suffix if fmt else "npz")
        path = Path(path)
        return self._write(path, lambda: export_data(table, path), request_id)

    def write_now(self, path) -> Path:
        """What Export plot / Export data would write for the front pane, written synchronously.

        Raises ValueError when the front pane has no such output (or nothing to show), OSError
        when the file cannot be written.
        """
        path = Path(path)
        pane = self.front_pane()
        fmt = format_of(path)
        make = pane.figure if fmt.output == "figure" else pane.data
        if make is None:
            raise ValueError(f"the {pane.title} pane has no {fmt.output} to export")
        made = make(self.state.core)
        if fmt.output == "figure":
            return export_figure(made, path)
        return export_data(made, path)

    # ---- helpers ---------------------------------------------------------------------------
    def _made(self, pane, output: str, then) -> int:
        """``then(made, state, request_id)`` with the pane's figure or data for the current state
        (and that state), made at once, or for a lean trace on a pool thread from a snapshot of
        it (the request id is returned now); -1 after reporting why there is none."""
        make = pane.figure if output == "figure" else pane.data
        if make is None:
            self._report(f"The {pane.title} pane has no {'plot' if output == 'figure' else 'data'} "
                         "to export.")
            return -1
        if is_lean(self.state.trace):  # making it replays layers: seconds on a large model
            self._next_id += 1
            request_id = self._next_id
            self.window.statusBar().showMessage(f"Recomputing the layers to export the {pane.title} "
                                                f"pane's {'plot' if output == 'figure' else 'data'}…")
            state = snapshot_of(self.state)  # what the screen shows at the click
            self._off_thread.start(make, state, lambda made: then(made, state, request_id),
                                   self._on_make_failed)
            return request_id
        try:
            made = make(self.state.core)
        except ValueError as error:
            self._report(f"Nothing to export: {error}")
            return -1
        return then(made, self.state.core, None)

    def _on_make_failed(self, error: Exception) -> None:
        if isinstance(error, ValueError):
            self._report(f"Nothing to export: {error}")
        else:
            self._report(f"Export failed: {type(error).__name__}: {error}")

    def _export_figure(self, pane, path, width, height, dpi, title: str = "Export plot") -> int:
        return self._made(pane, "figure", lambda figure, state, request_id: self._figure_made(
            pane, figure, path, width, height, dpi, title, state, request_id))

    def _figure_made(self, pane, figure, path, width, height, dpi, title: str, state,
                     request_id: int | None) -> int:
        if path is None:
            if self._closing:
                return -1
            options = self._ask(pane, figure, title, state)
            if options is None:
                return -1
            path, width, height, dpi = options.path, options.width, options.height, options.dpi
        path = Path(path)
        try:  # cheap checks here, so a typo is reported at once
            figure_format(path)
            width, height = figure_size(figure, width, height, dpi)
            colormap = getattr(getattr(figure, "selection", None), "colormap", None)
            if colormap:  # pyqtgraph loads colormaps on this thread, not the export thread
                lookup_table(colormap)
        except ValueError as error:
            self._report_failure(path, error)
            return -1
        return self._write(path, lambda: export_figure(figure, path, width, height, dpi), request_id)

    def _ask(self, pane, figure, title: str, state) -> ExportOptions | None:
        last = self._last.get(pane.name)
        suggested = str(last.path if last else self._folder() / (pane.file_stem(state) + ".png"))
        dialog = ExportDialog(figure.natural_size(), suggested, self.window, title,
                              dpi=last.dpi if last else DEFAULT_DPI)
        if last is not None and last.path.suffix == Path(suggested).suffix:
            dialog.width_spin.setValue(last.width)  # keep the size the user chose last time
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        options = dialog.options()
        dialog.deleteLater()
        if not accepted:
            return None
        self._last[pane.name] = options
        return options

    def _write(self, path: Path, write, request_id: int | None = None) -> int:
        """Run ``write`` on the export thread; its result or error comes back as a signal."""
        if request_id is None:
            self._next_id += 1
            request_id = self._next_id
        self._pending[request_id] = path
        self.window.statusBar().showMessage(f"Exporting {path.name}…")
        self._pool.start(Task(request_id, write, self._signals, lambda _rid: True))
        return request_id

    def _on_written(self, request_id: int, written) -> None:
        self._pending.pop(request_id, None)
        self._settings().setValue("exportFolder", str(Path(written).resolve().parent))
        self.window.statusBar().showMessage(f"Exported {written}", 5000)
        self.exported.emit(str(written))

    def _on_failed(self, request_id: int, error: Exception) -> None:
        self._report_failure(self._pending.pop(request_id, Path("?")), error)

    def _report_failure(self, path: Path, error: Exception) -> None:
        expected = isinstance(error, OSError | ValueError)
        problem = str(error) if expected else f"{type(error).__name__}: {error}"
        self._report(f"Export failed: {problem}", f"The file\n{path}\ncould not be written:\n\n"
                     f"{problem}\n\nNothing else was changed; choose another place and try again.")

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until running exports are written (closing the window, scripts); a lean trace's
        figure is made first, then written."""
        return self._off_thread.wait(timeout_ms) and self._pool.waitForDone(timeout_ms)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.window and event.type() == QEvent.Type.Close:
            self._closing = True
            try:
                self.wait()  # a pool thread still running at exit would abort the process
            finally:
                self._closing = False
        return False

    def _report(self, message: str, details: str | None = None) -> None:
        """Status bar and errorOccurred always; a dialog when the user has to act (``details``)."""
        self.window.report(message, dialog_title="Export failed" if details else None, details=details)

    def _settings(self) -> QSettings:
        return getattr(self.window, "settings", None) or QSettings()

    def _folder(self) -> Path:
        folder = self._settings().value("exportFolder", "")
        return Path(folder) if folder and Path(folder).is_dir() else Path.home()
