"""FileMenu: File → Open checkpoint…, Open model folder…, Open recent, and Quit kept last."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

MAX_RECENT = 8
CHECKPOINT_FILTER = ("Checkpoints (*.safetensors *.pt *.pth *.bin);;Hugging Face config (config.json);;"
                     "All files (*)")


class FileMenu(QObject):
    """The window's File menu and its recent files (kept in the window's QSettings).

    Other parts append their actions to ``menu`` (File → Export…); Quit stays last whenever
    the menu opens. A chosen file goes to ``window.load_checkpoint``.
    """

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.menu = window.menuBar().addMenu("&File")
        self.menu.addAction("&Open checkpoint…", self.open_checkpoint_dialog).setShortcut(QKeySequence.Open)
        self.menu.addAction("Open model &folder…", self.open_folder_dialog)
        self.recent_menu = self.menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        self._quit_separator = QAction(self)
        self._quit_separator.setSeparator(True)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence.Quit)
        self.quit_action.triggered.connect(window.close)
        self.menu.addActions([self._quit_separator, self.quit_action])
        self.menu.aboutToShow.connect(self.keep_quit_last)

    def keep_quit_last(self) -> None:
        for action in (self._quit_separator, self.quit_action):
            self.menu.removeAction(action)
        self.menu.addActions([self._quit_separator, self.quit_action])

    # ---- recent files -------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.window.settings.value("recentFiles", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.window.settings.setValue("recentFiles", recent[:MAX_RECENT])
        self.window.settings.sync()

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            self.recent_menu.addAction(path, lambda p=path: self.window.load_checkpoint(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    # ---- dialogs ------------------------------------------------------------------------------
    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open checkpoint", self._last_folder(),
                                              CHECKPOINT_FILTER)
        if path:
            self.window.load_checkpoint(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open a Hugging Face model folder",
                                                self._last_folder())
        if path:
            self.window.load_checkpoint(path)

    def _last_folder(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())
