"""What the head-importance and patching tabs share: starting their sweep and outliving no window."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QWidget

from ..state.sweeps import store_result, sweep_request


class SweepView(QWidget):
    """A tab whose numbers come from a background sweep (``SWEEP``, a name in state.sweeps).

    A subclass sets ``state``, ``controller`` (a SweepController), ``sweep_bar`` (a SweepBar)
    and ``_watching_window = False`` in ``__init__``, and draws in ``redraw``.
    """

    SWEEP = ""

    def start(self) -> None:
        try:
            request = sweep_request(self.state.core, self.SWEEP)
        except ValueError as error:
            self.sweep_bar.status.setText(str(error))
            return
        self._watch_window()
        self.controller.start(request)

    def _on_sweep_finished(self, request, result) -> None:
        store_result(self.state.core, self.SWEEP, request.key, result)
        self.sweep_bar.status.setText("")
        self.redraw()

    def redraw(self) -> None:
        raise NotImplementedError

    # ---- lifetime ---------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._watch_window()

    def _watch_window(self) -> None:
        if not self._watching_window and self.window() is not self:
            self._watching_window = True
            self.window().installEventFilter(self)  # a sweep must not outlive the window

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.window() and event.type() == QEvent.Type.Close:
            self.controller.shutdown()
        return super().eventFilter(watched, event)
