"""MainWindow: the input panel, the selection bar, the view tabs, the File menu and the status bar."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from . import startup_defaults
from .compare_controller import CompareController
from .export.export_actions import ExportActions
from .pane_pages import PanePages
from .panes import PANES
from .run_controller import RunController
from .state.app_state import AppState
from .state.lean_traces import LEAN_TEXT, is_lean
from .widgets.file_menu import FileMenu
from .widgets.help_menu import add_help_menu
from .widgets.input_panel import InputPanel
from .widgets.report_action import ReportAction
from .widgets.run_progress_row import RunProgressRow
from .widgets.selection_bar import SelectionBar
from .widgets.session_actions import SessionActions

DEFAULT_CHECKPOINT = startup_defaults.DEFAULT_CHECKPOINT  # here too: tests patch it on this module
SETTINGS_ORGANIZATION = "TransformerInspector"  # tests redirect QSettings.setPath(IniFormat, ...)
SETTINGS_APPLICATION = "Transformer Inspector"
STARTUP_FALLBACK_MS = 300  # start the first load by then even if no paint was seen
RUN_SHORTCUTS = ("Ctrl+Return", "Ctrl+Enter")

def make_settings() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, SETTINGS_ORGANIZATION, SETTINGS_APPLICATION)


class MainWindow(QMainWindow):
    """The application window. ``MainWindow(checkpoint=None)`` opens the default model.

    Signals:
        traceChanged(object): a new trace is shown in every view.
        errorOccurred(str): every error shown to the user (status bar, and a dialog for loads).
    """

    traceChanged = Signal(object)
    errorOccurred = Signal(str)

    def __init__(self, checkpoint=None, *, show_dialogs: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Transformer Inspector")
        self.setAcceptDrops(True)
        self.show_dialogs = show_dialogs  # False: errors go to the status bar only (screenshots)
        self.error_box: QMessageBox | None = None
        self._example_shown = ""  # the example sentence the window filled in, if still untouched
        self.settings = make_settings()
        self.state = AppState(self)
        self.controller = RunController(self.state, self)
        self.compare_controller = CompareController(self.state, self)  # the compare pane's run B

        self.input_panel = InputPanel(self.state)
        self.selection_bar = SelectionBar(self.state)
        self.view_tabs = QTabWidget(objectName="viewTabs")
        self.view_tabs.setDocumentMode(True)
        self.panes = PANES  # the registry, in tab order
        # Pane name -> its view, built when its tab is first shown (or the view first read).
        self.views = PanePages(self.state, self.view_tabs, self.panes, self._wire_view)
        self.views[self.panes[0].name]  # the front tab's view, for the first paint
        self.view_tabs.currentChanged.connect(self._on_tab_changed)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.selection_bar)
        right_layout.addWidget(self.view_tabs, 1)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(self.input_panel)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 1040])
        self.setCentralWidget(self.splitter)

        self.busy_bar = QProgressBar(objectName="busyIndicator", maximumWidth=140, textVisible=False)
        self.busy_bar.setRange(0, 0)  # indeterminate: a load reports no progress
        self.busy_bar.hide()
        self.timing_label = QLabel(objectName="timingLabel")
        self.statusBar().addPermanentWidget(self.timing_label)
        self.statusBar().addPermanentWidget(self.busy_bar)
        self.files = FileMenu(self)  # File → Open…, Open recent, Quit
        self.file_menu = self.files.menu
        self.export_actions = ExportActions(self)  # File → Export plot…, all heads…, data…
        self.file_menu.addAction("Head statistics over a &corpus…", lambda: (
            self.show_pane("head-stats"), self.views["head-stats"].corpus.choose_corpus())
        ).setObjectName("corpusStatisticsAction")
        add_help_menu(self)
        for keys in RUN_SHORTCUTS:
            QShortcut(QKeySequence(keys), self, self.input_panel.request_run)

        self.input_panel.runRequested.connect(self.controller.run)
        self.input_panel.predictionsWanted.connect(self.controller.compute_predictions)
        self.controller.predictionsReady.connect(self.input_panel.show_predictions)
        self.run_progress = RunProgressRow(self.controller)  # beside the Run button
        self.input_panel.run_line.addWidget(self.run_progress, 1)
        self.controller.runCancelled.connect(lambda: self.statusBar().showMessage("Run cancelled", 5000))
        self.controller.busyChanged.connect(self._on_busy_changed)
        self.controller.modelLoaded.connect(self._on_model_loaded)
        self.controller.loadFailed.connect(self._on_load_failed)
        self.controller.runFailed.connect(self._on_run_failed)
        self.compare_controller.failed.connect(self.report)
        self.state.traceChanged.connect(self._on_trace_changed)  # after every view: they drew first
        self.state.modelChanged.connect(self._on_model_changed)
        self.sessions = SessionActions(self)  # File → Save / Open session…, after the handlers above
        self.reports = ReportAction(self)  # File → Export report…
        self.resize(1400, 900)
        self._restore_layout()

        self._closed = False
        self._startup_path: Path | None = None
        self._waiting_for_paint = False
        path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
        if checkpoint is None and not path.exists():
            self.statusBar().showMessage(
                "No default model found: open a checkpoint (File → Open checkpoint…)")
        else:
            # Start once the window is painted (see showEvent): importing torch holds the GIL for
            # a while, and the user should see the window (and this busy indicator) first.
            self._startup_path = path
            self.state.set_loading(path.name)  # every pane says what is coming, from the first paint
            self._on_busy_changed(True, f"Loading {path.name}…")

    # ---- public API -------------------------------------------------------------------------
    def _wire_view(self, name: str, view) -> None:
        """Connect a pane's view to the window once it is built (see PanePages)."""
        if name in ("all-heads", "head-stats", "head-importance", "patching"):
            # A clicked head opens in the attention pane, large and labelled.
            view.headActivated.connect(lambda *_: self.show_pane("attention"))
        if name == "head-stats":
            view.corpus.errorOccurred.connect(self.report)
        # ←/→ and ↑/↓ step heads and layers wherever a pane shows the selected head.
        navigated = {"attention": lambda: (view, view.plot_widget), "all-heads": lambda: (view.graphics,),
                     "head-lines": lambda: (view.canvas,)}
        if name in navigated:
            self.selection_bar.install_navigation(*navigated[name]())

    def show_pane(self, name: str) -> None:
        """Bring the pane called ``name`` to the front."""
        self.view_tabs.setCurrentIndex([p.name for p in self.panes].index(name))

    def front_pane(self):
        return next(p for p in self.panes if p.name == self.state.front_pane)

    def export_front_pane(self, path) -> Path:
        """Write what File → Export plot / Export data would write for the pane in front (the
        format from the extension), synchronously. ValueError when that pane has no such output."""
        return self.export_actions.write_now(path)

    def _on_model_changed(self, model) -> None:
        """Show the panes that apply to this model (derived from its kinds), hide the others."""
        for index, pane in enumerate(self.panes):
            self.view_tabs.setTabVisible(index, pane.applies_to(model))
        if not self.front_pane().applies_to(model):
            self.show_pane(self.panes[0].name)

    def _on_tab_changed(self, index: int) -> None:
        if 0 <= index < len(self.panes):
            pane = self.panes[index]
            self.views[pane.name]  # built on its first showing
            self.state.set_front_pane(pane.name)
            self.selection_bar.set_active_selectors(pane.selectors, pane.title)

    # Views by their old attribute names (scripts and tests use them).
    attention_view = property(lambda self: self.views["attention"])
    head_grid_view = property(lambda self: self.views["all-heads"])
    head_line_view = property(lambda self: self.views["head-lines"])
    activation_view = property(lambda self: self.views["activations"])
    depth_plot_view = property(lambda self: self.views["depth"])
    predictions_view = property(lambda self: self.views["predictions"])

    def load_checkpoint(self, path) -> int:
        """Open a checkpoint in the background; the current model stays until it succeeds."""
        self._startup_path = None  # an explicit choice wins over the model opened at start
        return self.controller.load(path)

    def _start_startup_load(self) -> None:
        if self._startup_path is not None and not self._closed:
            self.load_checkpoint(self._startup_path)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._startup_path is not None and not self._waiting_for_paint:
            # The busy bar's first paint means the window is on screen: load right after it,
            # rather than after a fixed delay that is too short on a slow display, too long on
            # a fast one. The fallback covers a platform that paints nothing.
            self._waiting_for_paint = True
            self.busy_bar.installEventFilter(self)
            QTimer.singleShot(STARTUP_FALLBACK_MS, self, self._start_startup_load)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.busy_bar and event.type() == QEvent.Type.Paint:
            self.busy_bar.removeEventFilter(self)
            QTimer.singleShot(0, self, self._start_startup_load)
        return False

    def run(self, source: str | None = None, target: str | None = None) -> int:
        """Run the model on the given text (default: what the input boxes hold)."""
        if source is not None or target is not None:
            self.state.set_inputs(self.state.source_text if source is None else source,
                                  self.state.target_text if target is None else target)
        return self.controller.run()

    @property
    def loading(self) -> bool:
        """A model load is pending or running (including the one scheduled at start)."""
        return self._startup_path is not None or self.controller.busy

    def recent_files(self) -> list[str]:
        return self.files.recent_files()

    # ---- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.dropped_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        path = self.dropped_path(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.load_checkpoint(path)

    @staticmethod
    def dropped_path(mime) -> str | None:
        """The first local file or folder in dropped data, if any."""
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                return url.toLocalFile()
        return None

    # ---- controller results -----------------------------------------------------------------
    def _on_busy_changed(self, busy: bool, description: str) -> None:
        # A run's progress is the row beside Run, shown once it lasts (run_progress_row.py); a
        # moving bar here too would repaint the window all through every short run.
        self.busy_bar.setVisible(busy and not self.controller.running)
        if busy:
            if "engine" not in sys.modules:
                description = "Starting the engine (PyTorch) — " + description
            self.statusBar().showMessage(description)
        self.input_panel.set_busy(busy, description)

    def _on_model_loaded(self, model, path: str) -> None:
        self.files.remember(path)
        self.setWindowTitle(f"Transformer Inspector — {model.name}")
        self.statusBar().showMessage(f"Loaded {model.name} from {path}", 5000)
        source = self.state.source_text
        if not source.strip() or source == self._example_shown:
            # Text the user never typed follows the model: a date model gets a date to read.
            self._example_shown = startup_defaults.example_sentence(path, model.name)
            self.state.set_inputs(self._example_shown, self.state.target_text)

    def _on_load_failed(self, path: str, message: str) -> None:
        self.report(f"Could not open {path}: {message}", dialog_title="Could not open the checkpoint",
                     details=f"The file\n{path}\ncould not be opened:\n\n{message}" + (
                         "\n\nThe previous model is still open." if self.state.model else ""))

    def _on_trace_changed(self, trace) -> None:
        if trace is None:
            return
        timing = f"forward {trace.forward_ms:.1f} ms"
        if trace.decode_ms:
            timing += f" · decode {trace.decode_ms:.0f} ms"
        if is_lean(trace):
            timing += f" · {LEAN_TEXT}"
        self.timing_label.setText(timing)
        source, target = len(trace.source_tokens), len(trace.target_tokens)
        # A single-stack model has one token list: "0 source / 24 target" would read as a fault.
        counts = f"{source} source / {target} target tokens" if source and target else \
            f"{source or target} tokens"
        self.statusBar().showMessage(counts, 5000)
        self.traceChanged.emit(trace)

    def _on_run_failed(self, message: str) -> None:
        # Beside the inputs too: the status bar's line is replaced by the next message, and the
        # views keep the previous trace, which must not pass for the failed input's.
        self.input_panel.show_error(f"Not run: {message.rstrip('.')}. The views still show the previous run.")
        self.report(f"Run failed: {message}")

    # ---- errors -----------------------------------------------------------------------------
    def report(self, message: str, dialog_title: str | None = None, details: str | None = None) -> None:
        """Show an error: the status bar, ``errorOccurred``, and a dialog when it has a title."""
        self.statusBar().showMessage(message)
        self.errorOccurred.emit(message)
        if dialog_title and self.show_dialogs:
            if self.error_box is not None:
                self.error_box.deleteLater()  # one error dialog at a time
            self.error_box = self.build_error_box(dialog_title, details or message)
            self.error_box.open()  # window-modal but not blocking: the event loop keeps running

    def build_error_box(self, title: str, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setObjectName("errorDialog")
        return box

    def _restore_layout(self) -> None:
        """Reopen with the size, position and pane widths the user left the window with."""
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        if self.error_box is not None and self.error_box.isVisible():
            self.error_box.close()
        self._closed = True
        self.controller.shutdown()  # a pool thread alive at exit would abort the process
        self.compare_controller.shutdown()
        super().closeEvent(event)
