"""SessionActions: File → Save session… and Open session… (visualizer.state.session files)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from ..state.session import SessionError, apply_session, read_session, save_session

SESSION_FILTER = "Transformer Inspector sessions (*.json);;All files (*)"


class SessionActions(QObject):
    """Saves what the window shows, and opens it again.

    Opening a session of another checkpoint loads it first, then applies the rest; a checkpoint
    that is gone gets a message, and the inputs and options go to the open model. A file that is
    not a session gets a message and changes nothing.
    """

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.checkpoint = ""  # the path of the model on screen
        self._pending = None  # a Session waiting for its checkpoint to load
        window.file_menu.addSeparator()
        self.save_action = window.file_menu.addAction("Save &session…", self.save_dialog)
        self.open_action = window.file_menu.addAction("Open sess&ion…", self.open_dialog)
        window.controller.modelLoaded.connect(self._on_model_loaded)
        window.controller.loadFailed.connect(self._on_load_failed)

    # ---- dialogs ----------------------------------------------------------------------------
    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", "session.json", SESSION_FILTER)
        if path:
            self.save(path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", "", SESSION_FILTER)
        if path:
            self.open(path)

    # ---- public -----------------------------------------------------------------------------
    def save(self, path) -> Path | None:
        """Write the session file; an unwritable path is reported, never raised."""
        try:
            written = save_session(path, self.window.state.core, self.checkpoint)
        except OSError as error:
            self.window.report(str(error), dialog_title="Could not save the session")
            return None
        self.window.statusBar().showMessage(f"Saved the session to {written}", 5000)
        return written

    def open(self, path) -> bool:
        """Open a session: True when it is being applied (its checkpoint may still be loading)."""
        try:
            session = read_session(path)
        except SessionError as error:
            self.window.report(str(error), dialog_title="Could not open the session")
            return False
        wanted = session.checkpoint
        if wanted and not Path(wanted).exists():
            model = self.window.state.model
            where = f"the open model ({model.name})" if model is not None else "the window"
            self.window.report(f"The session's checkpoint {wanted} is not there any more: its inputs "
                               f"and options are applied to {where}", dialog_title="Checkpoint not found")
            self._apply(session)
        elif wanted and not self._is_open(wanted):
            self._pending = session
            self.window.load_checkpoint(wanted)
        else:
            self._apply(session)
        return True

    # ---- plumbing ---------------------------------------------------------------------------
    def _is_open(self, path: str) -> bool:
        return bool(self.checkpoint) and Path(self.checkpoint).resolve() == Path(path).resolve()

    def _on_model_loaded(self, _model, path: str) -> None:
        self.checkpoint = str(path)
        session, self._pending = self._pending, None
        if session is not None:
            self._apply(session, run=False)  # the controller runs the new model right after this

    def _on_load_failed(self, _path: str, _message: str) -> None:
        session, self._pending = self._pending, None
        if session is not None:  # the load's own message is shown; the rest still applies
            self._apply(session)

    def _apply(self, session, run: bool = True) -> None:
        window = self.window
        skipped = apply_session(window.state.core, session, [pane.name for pane in window.panes])
        if session.front_pane in window.views:
            window.show_pane(session.front_pane)
        if skipped:
            window.statusBar().showMessage("Session opened; skipped what does not fit this model: "
                                           + ", ".join(skipped), 10000)
        if run and window.state.model is not None and window.state.source_text.strip():
            window.controller.run()
