"""AllLayersOffer: a pane that needs every layer of a lean trace says so, and computes on request.

A lean trace replays a layer when it is read (1.5-9 s each on a 0.6B model), so a pane that
reads all of them (the all-heads grid, head statistics) would take minutes: instead of starting
that on every tab switch, the pane shows what it needs and a button; the work then runs on a
pool thread, and the pane draws the result.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ..views.background_result import BackgroundResult


class AllLayersOffer(QWidget):
    """``result(trace, kind, what, compute)``: the computed result, or None while the pane must wait
    (the offer or the "recomputing" line is then shown). Panes ask it for lean traces only.

    Signals:
        computed(): a result asked for is ready; the pane draws again.
    """

    computed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("allLayersOffer")
        self.label = QLabel(wordWrap=True, objectName="allLayersText")
        self.button = QPushButton("Compute all layers", objectName="allLayersButton")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.background = BackgroundResult(self)
        self.background.ready.connect(self._on_ready)
        self.background.failed.connect(lambda _key, message: self.label.setText(message))
        self.button.clicked.connect(self._start)
        self._done: tuple | None = None  # (key, trace, result) of the last computation
        self._asked: tuple | None = None  # (key, compute) the button would start
        self.hide()

    def result(self, trace, kind: str, what: str, compute: Callable[[], object]):
        key = (id(trace), kind)
        if self._done is not None and self._done[0] == key and self._done[1]() is trace:
            self.hide()
            return self._done[2]
        layers = trace.attention[kind].shape[0]
        self._asked = (key, layers, lambda: (trace, compute()))
        if self.background.pending_key == key:
            self._say_computing(layers)
        else:
            self.label.setText(f"{what} needs all {layers} layers. This large run recomputes a layer "
                               "when it is read (seconds each on a large model), so it waits for you.")
            self.button.setText(f"Compute all {layers} layers")
            self.button.show()
        self.show()
        return None

    def wait(self, msecs: int = -1) -> bool:
        return self.background.wait(msecs)

    def _start(self) -> None:
        if self._asked is None:
            return
        key, layers, compute = self._asked
        self.background.request(key, compute)
        self._say_computing(layers)

    def _say_computing(self, layers: int) -> None:
        self.label.setText(f"Recomputing all {layers} layers… (the other tabs stay usable)")
        self.button.hide()

    def _on_ready(self, key, result) -> None:
        trace, value = result
        self._done = (key, weakref.ref(trace), value)  # never keep an old trace alive
        self.computed.emit()
