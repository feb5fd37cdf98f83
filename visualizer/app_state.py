"""AppState: the single QObject every view reads; views subscribe to its signals and only draw."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

HEAD_MODES = ("mean", "max")  # head selector entries after the numbered heads


class AppState(QObject):
    """The loaded model, the inputs, the current trace and the selection.

    Signals:
        modelChanged(object): a new engine model is current (the trace is cleared first).
        traceChanged(object): a new Trace is current (or None).
        selectionChanged(): kind, layer, head or hook changed.
        hoverChanged(str, int): ("source" | "target", position) under the mouse; -1 for none.
        optionsChanged(): a display option changed (colormap, levels, row labels).
        ablationChanged(): the set of ablated heads changed (the next run zeroes their output).
    """

    modelChanged = Signal(object)
    traceChanged = Signal(object)
    selectionChanged = Signal()
    hoverChanged = Signal(str, int)
    optionsChanged = Signal()
    ablationChanged = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.model = None  # engine.InspectableModel
        self.trace = None  # engine.Trace
        self.source_text = ""
        self.target_text = ""
        self.kind = "encoder"
        self.layer = 0
        self.head: int | str = 0  # an index, "mean" or "max"
        self.hook = ""  # activation hook name shown in the activation view
        self.hover: tuple[str, int] = ("", -1)
        self.colormap = "viridis"
        self.auto_levels = False  # False: attention levels fixed to 0..1
        self.label_rows_by_prediction = False
        self.ablated: frozenset[tuple[str, int, int]] = frozenset()  # (kind, layer, head)

    # ---- setters (each emits only on change) ----------------------------------
    def set_model(self, model) -> None:
        self.model = model
        self.trace = None
        self.ablated = frozenset()  # another model's heads mean nothing here
        kinds = model.kinds if model is not None else ()
        if self.kind not in kinds and kinds:
            self.kind = "cross" if "cross" in kinds else kinds[0]
        self._clamp_selection()
        self.modelChanged.emit(model)
        self.traceChanged.emit(None)
        self.selectionChanged.emit()

    def set_trace(self, trace) -> None:
        self.trace = trace
        if trace is not None and self.kind not in trace.attention and trace.attention:
            self.kind = next(iter(trace.attention))
        self._clamp_selection()
        self.traceChanged.emit(trace)

    def set_selection(self, kind: str | None = None, layer: int | None = None,
                      head: int | str | None = None, hook: str | None = None) -> None:
        before = (self.kind, self.layer, self.head, self.hook)
        if kind is not None:
            self.kind = kind
        if layer is not None:
            self.layer = layer
        if head is not None:
            self.head = head
        if hook is not None:
            self.hook = hook
        self._clamp_selection()
        if (self.kind, self.layer, self.head, self.hook) != before:
            self.selectionChanged.emit()

    def set_hover(self, side: str, position: int) -> None:
        if (side, position) != self.hover:
            self.hover = (side, position)
            self.hoverChanged.emit(side, position)

    def set_option(self, **options) -> None:
        """Change display options: colormap, auto_levels, label_rows_by_prediction."""
        changed = False
        for name, value in options.items():
            if not hasattr(self, name) or name not in (
                    "colormap", "auto_levels", "label_rows_by_prediction"):
                raise AttributeError(f"unknown display option {name!r}")
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if changed:
            self.optionsChanged.emit()

    def toggle_ablation(self, kind: str, layer: int, head: int) -> None:
        """Ablate the head if it is not, restore it if it is."""
        self.ablated = self.ablated ^ {(kind, layer, head)}
        self.ablationChanged.emit()

    def clear_ablation(self) -> None:
        if self.ablated:
            self.ablated = frozenset()
            self.ablationChanged.emit()

    # ---- derived values ---------------------------------------------------------
    def kinds(self) -> tuple[str, ...]:
        return self.model.kinds if self.model is not None else ()

    def n_layers(self, kind: str | None = None) -> int:
        if self.model is None:
            return 0
        return self.model.n_layers(kind or self.kind)

    def n_heads(self) -> int:
        return self.model.config.n_heads if self.model is not None else 0

    def attention_matrix(self, kind=None, layer=None, head=None) -> np.ndarray | None:
        """The ``[queries, keys]`` float32 matrix for a selection (default: the current one)."""
        if self.trace is None:
            return None
        kind = kind or self.kind
        layer = self.layer if layer is None else layer
        head = self.head if head is None else head
        stack = self.trace.attention.get(kind)
        if stack is None or layer >= stack.shape[0]:
            return None
        heads = stack[layer]
        if head == "mean":
            return np.ascontiguousarray(heads.mean(axis=0), dtype=np.float32)
        if head == "max":
            return np.ascontiguousarray(heads.max(axis=0), dtype=np.float32)
        return heads[int(head)]

    def query_labels(self, kind=None) -> list[str]:
        """Row labels: the tokens at each query position, or the predicted next tokens."""
        if self.trace is None:
            return []
        kind = kind or self.kind
        if kind != "encoder" and self.label_rows_by_prediction and self.trace.predicted_tokens:
            return list(self.trace.predicted_tokens)
        return list(self.trace.query_tokens(kind))

    def key_labels(self, kind=None) -> list[str]:
        return [] if self.trace is None else list(self.trace.key_tokens(kind or self.kind))

    def _clamp_selection(self) -> None:
        if self.model is None:
            return
        self.layer = max(0, min(self.layer, self.n_layers() - 1))
        if isinstance(self.head, int):
            self.head = max(0, min(self.head, self.n_heads() - 1))
