"""AppState: the Qt face of a ViewState. Views read it and subscribe to its ``xChanged`` signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from .view_state import CHANGES, ViewState


class AppState(QObject):
    """Reads and setters go to ``self.core`` (a Qt-free ViewState); each change becomes a signal.

    ``state.kind``, ``state.trace``, ``state.set_selection(...)`` and the rest are the ViewState's.

    Signals:
        modelChanged(object): a new engine model is current (the trace is cleared first).
        inputsChanged(): the source or target text changed.
        traceChanged(object): a new Trace is current (or None).
        selectionChanged(): kind, layer, head or hook changed.
        optionsChanged(): a view option changed (colormap, levels, row labels, a pane's setting).
        ablationChanged(): the set of ablated heads changed (the next run zeroes their output).
        hoverChanged(str, int): ("source" | "target", position) under the mouse; -1 for none.
        paneChanged(str): another pane came to the front (its name).
        loadingChanged(str): a checkpoint started loading (its name) or finished ("").
        compareChanged(): the compare pane's run b (or its message) changed.
    """

    modelChanged = Signal(object)
    inputsChanged = Signal()
    traceChanged = Signal(object)
    selectionChanged = Signal()
    optionsChanged = Signal()
    ablationChanged = Signal()
    hoverChanged = Signal(str, int)
    paneChanged = Signal(str)
    loadingChanged = Signal(str)
    compareChanged = Signal()

    def __init__(self, parent: QObject | None = None, core: ViewState | None = None):
        super().__init__(parent)
        self.core = core if core is not None else ViewState()
        self.core.subscribe(self._on_core_changed)

    def subscribe(self, view) -> None:
        """Connect every ``view._on_x_changed`` to the signal ``xChanged`` (the views' naming rule)."""
        for change in CHANGES:
            handler = getattr(view, f"_on_{change}_changed", None)
            if handler is not None:
                getattr(self, f"{change}Changed").connect(handler)

    def __getattr__(self, name: str):
        # Only reached for names QObject lacks: the ViewState's fields and methods.
        if name == "core":
            raise AttributeError(name)
        return getattr(self.core, name)

    def _on_core_changed(self, change: str) -> None:
        core = self.core
        if change == "model":
            self.modelChanged.emit(core.model)
        elif change == "inputs":
            self.inputsChanged.emit()
        elif change == "trace":
            self.traceChanged.emit(core.trace)
        elif change == "selection":
            self.selectionChanged.emit()
        elif change == "options":
            self.optionsChanged.emit()
        elif change == "ablation":
            self.ablationChanged.emit()
        elif change == "hover":
            self.hoverChanged.emit(*core.hover)
        elif change == "pane":
            self.paneChanged.emit(core.front_pane)
        elif change == "loading":
            self.loadingChanged.emit(core.loading)
        elif change == "compare":
            self.compareChanged.emit()
