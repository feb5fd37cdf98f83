"""ExportActions: File → Export plot…, Export all heads…, Export data… for the main window.

Exports follow the tab in front: the attention tab exports AppState's current selection, the
same one the attention view draws; the all-heads tab exports the grid; the head-lines tab the
lines it draws; the activations tab the hook it shows. So the file matches the screen.

A failure (an unwritable path, a bad size) reaches ``window.errorOccurred``, the status bar and
a dialog; the file on disk is replaced only by a complete new one, and the dialog remembers what
the user typed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSettings, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog

from .activation_hooks import split_hook
from .data_export import KIND_TITLES, AttentionSelection, export_data, select_from_state
from .export_dialog import ExportDialog, ExportOptions
from .figures import (
    DEFAULT_DPI,
    GridFigure,
    HeatmapFigure,
    LinesFigure,
    export_figure,
    figure_format,
    figure_size,
)
from .figures.colors import lookup_table
from .worker import Task, TaskSignals, make_pool

DATA_FILTERS = {"npz": "NumPy arrays with tokens and metadata (*.npz)",
                "csv": "CSV table with token headers (*.csv)"}


class ExportActions(QObject):
    """Adds the export actions to ``window.file_menu`` and runs them.

    The state is read on the GUI thread (so the file is what the screen shows at the click);
    rendering and writing run on a worker thread, so a 12 × 12-head grid at 512 tokens (seconds
    of painting) never freezes the window. Each export returns a request id; none is dropped.

    Signals:
        exported(str): a file was written (its path).
    """

    exported = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self._last: dict[str, ExportOptions] = {}  # per figure kind: the user's last choices
        self._pending: dict[int, Path] = {}  # request id -> the file being written
        self._next_id = 0
        self._pool = make_pool()
        self._signals = TaskSignals(self)
        self._signals.finished.connect(self._on_written)
        self._signals.failed.connect(self._on_failed)
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
        self._on_trace_changed(self.state.trace)

    def _on_trace_changed(self, trace) -> None:
        for action in (self.plot_action, self.grid_action, self.data_action):
            action.setEnabled(trace is not None)

    # ---- the three exports (a path skips the dialog: scripts and tests use it) -----------
    def export_plot(self, path=None, width: int | None = None, height: int | None = None,
                    dpi: float = DEFAULT_DPI) -> int:
        """The plot in front as PNG, SVG or PDF: the attention heatmap, the grid or activations."""
        view = self._current_view_name()
        if view == "headGridView":
            return self.export_all_heads(path, width, height, dpi)
        if view == "headLineView":
            figure = self._lines_figure()
            return -1 if figure is None else self._export_figure("lines", figure, path, width, height, dpi)
        selection = self._activation_selection() if view == "activationView" else self._selection()
        key = "activation" if view == "activationView" else "plot"
        return -1 if selection is None else self._export_figure(
            key, HeatmapFigure(selection), path, width, height, dpi)

    def export_all_heads(self, path=None, width: int | None = None, height: int | None = None,
                         dpi: float = DEFAULT_DPI) -> int:
        """Every layer × head of the current kind as one grid figure."""
        selection = self._selection()
        return -1 if selection is None else self._export_figure(
            "grid", GridFigure(selection), path, width, height, dpi, "Export all heads")

    def export_data(self, path=None) -> int:
        """The matrix on screen with its tokens, as NPZ or CSV (activations when that tab is in front;
        every head's matrix too when the all-heads tab is, in NPZ files)."""
        view = self._current_view_name()
        if view == "activationView":
            selection = self._activation_selection()
        else:
            selection = self._selection()
        if selection is None:
            return -1
        if path is None:
            key = {"activationView": "activation", "headGridView": "grid"}.get(view, "plot")
            suggested = str(self._folder() / (self._stem(selection, key) + ".npz"))
            path, chosen = QFileDialog.getSaveFileName(self.window, "Export data", suggested,
                                                       ";;".join(DATA_FILTERS.values()))
            if not path:
                return -1
            if not Path(path).suffix:  # the user typed a bare name: use the chosen filter's format
                path += ".csv" if chosen == DATA_FILTERS["csv"] else ".npz"
        path = Path(path)
        all_heads = view == "headGridView" and path.suffix.lower() == ".npz"
        return self._write(path, lambda: export_data(selection, path, all_heads=all_heads))

    # ---- helpers -------------------------------------------------------------------------
    def _export_figure(self, key: str, figure, path, width, height, dpi,
                       title: str = "Export plot") -> int:
        if path is None:
            options = self._ask(key, figure, title)
            if options is None:
                return -1
            path, width, height, dpi = options.path, options.width, options.height, options.dpi
        path = Path(path)
        try:  # cheap checks here, so a typo is reported at once
            figure_format(path)
            width, height = figure_size(figure, width, height, dpi)
            lookup_table(figure.selection.colormap)  # pyqtgraph loads its colormaps on this thread
        except ValueError as error:
            self._report_failure(path, error)
            return -1
        return self._write(path, lambda: export_figure(figure, path, width, height, dpi))

    def _ask(self, key: str, figure, title: str) -> ExportOptions | None:
        last = self._last.get(key)
        stem = self._stem(figure.selection, key)
        suggested = str(last.path if last else self._folder() / (stem + ".png"))
        dialog = ExportDialog(figure.natural_size(), suggested, self.window, title,
                              dpi=last.dpi if last else DEFAULT_DPI)
        if last is not None and last.path.suffix == Path(suggested).suffix:
            dialog.width_spin.setValue(last.width)  # keep the size the user chose last time
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        options = dialog.options()
        dialog.deleteLater()
        if not accepted:
            return None
        self._last[key] = options
        return options

    def _write(self, path: Path, write) -> int:
        """Run ``write`` on the export thread; its result or error comes back as a signal."""
        self._next_id += 1
        self._pending[self._next_id] = path
        self.window.statusBar().showMessage(f"Exporting {path.name}…")
        self._pool.start(Task(self._next_id, write, self._signals, lambda _rid: True))
        return self._next_id

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
        """Block until running exports are written (closing the window, scripts)."""
        return self._pool.waitForDone(timeout_ms)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.wait()  # a pool thread still running at exit would abort the process
        return False

    def _report(self, message: str, details: str | None = None) -> None:
        """Status bar and errorOccurred always; a dialog when the user has to act (``details``)."""
        report = getattr(self.window, "_report", None)  # the window's one way to show errors
        if report is not None:
            report(message, dialog_title="Export failed" if details else None, details=details)
        else:
            self.window.statusBar().showMessage(message)
            self.window.errorOccurred.emit(message)

    def _selection(self):
        selection = select_from_state(self.state)
        if selection is None:
            self._report("Nothing to export yet: run a sentence first.")
        return selection

    def _current_view_name(self) -> str:
        tabs = getattr(self.window, "view_tabs", None)
        view = tabs.currentWidget() if tabs is not None else None
        return view.objectName() if view is not None else ""

    def _lines_figure(self) -> LinesFigure | None:
        """The head-line view's lines, colours and heads, as a figure."""
        selection = self._selection()
        if selection is None:
            return None
        view = getattr(self.window, "head_line_view", None)
        if view is None or not hasattr(view, "visible_lines"):
            return LinesFigure(selection)
        lines = view.visible_lines()
        colors = {int(h): view.color_of(int(h)) for h in np.unique(lines["head"])}
        every_head = getattr(view, "all_heads", None)
        if every_head is not None and every_head.isChecked():
            title = f"{selection.model} — {KIND_TITLES.get(selection.kind, selection.kind)}, " \
                    f"layer {selection.layer}, all heads"
            selection = replace(selection, title_text=title)
        return LinesFigure(selection, lines, colors)

    def _activation_selection(self) -> AttentionSelection | None:
        """What the activations tab shows: its matrix, row tokens, colormap and levels."""
        view = getattr(self.window, "activation_view", None)
        trace = self.state.trace
        matrix = getattr(view, "matrix", None)
        if trace is None or matrix is None or not view.hook:
            self._report("Nothing to export yet: run a sentence and pick an activation.")
            return None
        from .activation_view import DIVERGING_COLORMAP

        hook = view.hook
        stack, layer, _point = split_hook(hook)
        head = view.head_selector.currentData() if trace.activations[hook].ndim == 3 else "all"
        head = "all" if head is None else head
        what = f"head {head} of " if head != "all" else ""
        model = trace.model_name or (self.state.model.name if self.state.model is not None else "")
        low, high = (float(v) for v in view.color_bar.levels())
        return AttentionSelection(
            matrix=np.ascontiguousarray(matrix, dtype=np.float32), query_tokens=list(view.row_tokens),
            key_tokens=[str(i) for i in range(matrix.shape[1])], model=model, kind=stack, layer=layer,
            head=head, source=self.state.source_text, target=self.state.target_text or trace.output_text,
            colormap=DIVERGING_COLORMAP, levels=(low, high), auto_levels=True, hook=hook,
            title_text=f"{model} — {what}{hook}",
            axis_names=(f"{getattr(view, 'side', '') or 'token'} tokens", "features"))

    def _settings(self) -> QSettings:
        return getattr(self.window, "settings", None) or QSettings()

    def _folder(self) -> Path:
        folder = self._settings().value("exportFolder", "")
        return Path(folder) if folder and Path(folder).is_dir() else Path.home()

    @staticmethod
    def _stem(selection, key: str = "plot") -> str:
        """A file name that says what is in it: model-cross-L1-Hmean, model-cross-all-heads, ..."""
        if key == "grid":
            what = f"{selection.kind}-all-heads"
        elif key == "activation":
            what = selection.hook
        else:
            what = f"{selection.kind}-L{selection.layer}-H{selection.head}"
            what += "-lines" if key == "lines" else ""
        return re.sub(r"[^\w.-]+", "-", f"{selection.model}-{what}").strip("-") or "attention"
