"""SelectionBar: the kind, layer and head selectors, plus arrow-key navigation over heads and layers."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.kinds import HEAD_MODES, head_title, kind_title

from ..panes.pane import SELECTORS
from ..state.app_state import AppState
from .ablation_bar import AblationBar


class SelectionBar(QWidget):
    """Three combo boxes bound to ``state.kind``, ``state.layer`` and ``state.head``.

    ``install_navigation(widget)`` lets ←/→ step through the heads (then mean, max) and
    ↓/↑ through the layers while that widget has the focus.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.kind_selector = QComboBox(objectName="kindSelector")
        self.layer_selector = QComboBox(objectName="layerSelector")
        self.head_selector = QComboBox(objectName="headSelector")
        self.kind_selector.setToolTip("Which attention to show")
        self.layer_selector.setToolTip("Layer (↑/↓ in the attention view)")
        self.head_selector.setToolTip("Head, or a summary over all heads (←/→ in the attention view)")
        # The whole title ("Cross-attention (decoder → encoder)") stays readable.
        self.kind_selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        selectors = (self.kind_selector, self.layer_selector, self.head_selector)
        self._tooltips = {w: w.toolTip() for w in selectors}

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for text, widget in (("Attention:", self.kind_selector), ("Layer:", self.layer_selector),
                             ("Head:", self.head_selector)):
            layout.addWidget(QLabel(text))
            layout.addWidget(widget)
        self.ablation_bar = AblationBar(state)
        layout.addWidget(self.ablation_bar)
        layout.addStretch(1)

        self.kind_selector.activated.connect(self._on_kind_picked)
        self.layer_selector.activated.connect(self._on_layer_picked)
        self.head_selector.activated.connect(self._on_head_picked)
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self._navigation = _ArrowKeys(self)
        self._active = frozenset(SELECTORS)
        self._pane_title = ""
        self._rebuild()

    # ---- user picks ---------------------------------------------------------------------------
    def _on_kind_picked(self, index: int) -> None:
        self.state.set_selection(kind=self.kind_selector.itemData(index))

    def _on_layer_picked(self, index: int) -> None:
        self.state.set_selection(layer=index)

    def _on_head_picked(self, index: int) -> None:
        self.state.set_selection(head=self.head_selector.itemData(index))

    def set_selection_enabled(self, enabled: bool) -> None:
        """Panes that do not show the selected head (activations, depth) turn the selectors off."""
        self.set_active_selectors(SELECTORS if enabled else ())

    def set_active_selectors(self, names, pane_title: str = "") -> None:
        """Only the selectors named ("kind", "layer", "head") stay on: the others have no effect
        on the pane in front (``pane_title``, named in their tooltips)."""
        self._active = frozenset(names)
        self._pane_title = pane_title
        self._rebuild()

    # ---- keyboard -----------------------------------------------------------------------------
    def install_navigation(self, *widgets: QWidget) -> None:
        """Arrow keys pressed in these widgets change the head and the layer."""
        for widget in widgets:
            widget.installEventFilter(self._navigation)

    def step_head(self, delta: int) -> None:
        count = self.head_selector.count()
        if count:
            index = max(0, min(count - 1, self.head_selector.currentIndex() + delta))
            self.state.set_selection(head=self.head_selector.itemData(index))

    def step_layer(self, delta: int) -> None:
        count = self.layer_selector.count()
        if count:
            self.state.set_selection(layer=max(0, min(count - 1, self.state.layer + delta)))

    # ---- state handlers -----------------------------------------------------------------------
    def _on_model_changed(self, _model) -> None:
        self._rebuild()

    def _on_trace_changed(self, _trace) -> None:
        self._rebuild()  # set_trace may have moved the kind to one the trace has

    def _on_selection_changed(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        state = self.state
        kinds = state.kinds()
        heads = list(range(state.n_heads()))
        _fill(self.kind_selector, [(kind_title(k), k) for k in kinds], state.kind)
        _fill(self.layer_selector, [(layer_label(state.model, state.kind, i), i)
                                    for i in range(state.n_layers())], state.layer)
        _fill(self.head_selector, [(head_label(state.model, state.kind, h), h) for h in heads]
              + [(head_title(m).capitalize(), m) for m in HEAD_MODES if heads], state.head)
        for name, widget in zip(SELECTORS, (self.kind_selector, self.layer_selector, self.head_selector),
                                strict=True):
            active = name in self._active
            widget.setEnabled(widget.count() > 0 and active)
            where = f"The {self._pane_title} tab" if self._pane_title else "The pane in front"
            widget.setToolTip(self._tooltips[widget] if active else f"{where} does not use the {name}")


def local_window(config, kind: str, layer: int) -> str | None:
    """"±64" (keys within 64 either side), "last 64" (a causal window), or None where ``layer``
    of ``kind`` attends to every key. Cross-attention has no window."""
    window = config.window_of(layer) if kind != "cross" else None
    if window is None:
        return None
    return f"last {window:,}" if kind == "decoder" else f"±{window:,}"


def head_label(model, kind: str, head: int) -> str:
    """"Head 5 (kv 2)" under grouped-query attention: the key/value head that query head reads."""
    config = model.config if model is not None else None
    if config is None or kind == "cross" or config.kv_heads >= config.n_heads:
        return f"Head {head}"
    return f"Head {head} (kv {head // (config.n_heads // config.kv_heads)})"


def layer_label(model, kind: str, layer: int) -> str:
    """"Layer 1 (local ±64)": a local layer says so while the user picks it."""
    window = local_window(model.config, kind, layer) if model is not None else None
    return f"Layer {layer} (local {window})" if window else f"Layer {layer}"


def _fill(combo: QComboBox, items: list[tuple[str, object]], current) -> None:
    """Replace the entries only when they differ, then select ``current`` without emitting."""
    combo.blockSignals(True)
    if [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())] != items:
        combo.clear()
        for text, data in items:
            combo.addItem(text, data)
    index = next((i for i, (_text, data) in enumerate(items) if data == current), -1)
    combo.setCurrentIndex(index)
    combo.blockSignals(False)


class _ArrowKeys(QObject):
    """Event filter: ←/→ step the head, ↑/↓ the layer; other keys pass through."""

    STEPS = {Qt.Key_Left: ("head", -1), Qt.Key_Right: ("head", 1),
             Qt.Key_Up: ("layer", -1), Qt.Key_Down: ("layer", 1)}

    def __init__(self, bar: SelectionBar):
        super().__init__(bar)
        self._bar = bar

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.KeyPress and event.key() in self.STEPS \
                and event.modifiers() in (Qt.NoModifier, Qt.KeypadModifier):
            what, delta = self.STEPS[event.key()]
            (self._bar.step_head if what == "head" else self._bar.step_layer)(delta)
            return True
        return False
