"""AblationBar: cut a head's output and rerun, to see what the model does without it."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from engine.kinds import KINDS

from ..state.ablation_sets import keep_only, swapped
from ..state.app_state import AppState


def head_names(ablated) -> list[str]:
    """``["cross L0 H2", "enc L1 H3"]`` for the ablated heads, in a stable order."""
    return [f"{KINDS[k].short if k in KINDS else k} L{layer} H{head}" for k, layer, head in sorted(ablated)]


def describe(ablated) -> str:
    """``cross L0 H2, enc L1 H3`` for the ablated heads."""
    return ", ".join(head_names(ablated))


def summarize(ablated) -> str:
    """What the bar shows: the one head by name, else a count (a list would widen the window)."""
    if len(ablated) == 1:
        return f"Ablated: {describe(ablated)}"
    return f"{len(ablated)} heads ablated" if ablated else ""


def tooltip(ablated) -> str:
    """Every ablated head, one per line: the count's full story."""
    if not ablated:
        return ""
    return "Ablated heads (output zeroed):\n" + "\n".join(head_names(ablated))


class AblationBar(QWidget):
    """A toggle for the selected head and the list of ablated heads, with a way to restore all.

    An ablated head still attends (its pattern is shown unchanged); its output ``z`` is set to 0
    before the output projection, and the model decodes without it.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.toggle_button = QPushButton("Ablate head", objectName="ablateButton", checkable=True)
        self.toggle_button.setToolTip("Zero this head's output and rerun: its pattern stays visible, "
                                      "its contribution is gone")
        # "Keep only": ablate every other head of the kind; Ablate head then restores more of them.
        # A push button with a menu, like its neighbours: the style draws a full arrow beside the
        # text (a tool button's menu indicator read as a comma).
        self.keep_button = QPushButton("Keep only", objectName="keepOnlyButton")
        self.keep_button.setToolTip("Ablate every other head of this kind, to see what these heads do "
                                    "alone; then Ablate head on an ablated head restores it too")
        menu = QMenu(self.keep_button)
        self.keep_head_action = menu.addAction("Keep only this head", self._on_keep_head)
        self.keep_head_action.setObjectName("keepOnlyHeadAction")
        self.keep_layer_action = menu.addAction("Keep only this layer's heads", self._on_keep_layer)
        self.keep_layer_action.setObjectName("keepOnlyLayerAction")
        self.swap_action = menu.addAction("Swap ablated and kept heads of this kind", self._on_swap)
        self.swap_action.setObjectName("swapAblationAction")
        self.keep_button.setMenu(menu)
        self.summary = QLabel(objectName="ablationSummary")
        self.clear_button = QPushButton("Restore all", objectName="clearAblationButton")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle_button)
        layout.addWidget(self.keep_button)
        layout.addWidget(self.summary)
        layout.addWidget(self.clear_button)

        self.toggle_button.clicked.connect(self._on_toggle_clicked)
        self.clear_button.clicked.connect(state.clear_ablation)
        for signal in (state.selectionChanged, state.ablationChanged):
            signal.connect(self._refresh)
        state.modelChanged.connect(self._refresh)
        self._refresh()

    def _on_toggle_clicked(self) -> None:
        head = self.state.head
        if self.state.model is not None and isinstance(head, int):
            self.state.toggle_ablation(self.state.kind, self.state.layer, head)

    def _on_keep_head(self) -> None:
        state = self.state
        if state.model is not None and isinstance(state.head, int):
            state.set_ablation(keep_only(state, state.kind, [(state.kind, state.layer, state.head)]))

    def _on_keep_layer(self) -> None:
        state = self.state
        if state.model is not None:
            kept = [(state.kind, state.layer, head) for head in range(state.n_heads())]
            state.set_ablation(keep_only(state, state.kind, kept))

    def _on_swap(self) -> None:
        if self.state.model is not None:
            self.state.set_ablation(swapped(self.state, self.state.kind))

    def _refresh(self, *_args) -> None:
        state = self.state
        single_head = state.model is not None and isinstance(state.head, int)
        self.toggle_button.setEnabled(single_head)
        self.keep_button.setEnabled(state.model is not None)
        self.keep_head_action.setEnabled(single_head)
        current = (state.kind, state.layer, state.head) in state.ablated
        self.toggle_button.setChecked(single_head and current)
        self.toggle_button.setText("Ablated ✓" if single_head and current else "Ablate head")
        self.summary.setText(summarize(state.ablated))
        self.summary.setToolTip(tooltip(state.ablated))
        self.clear_button.setVisible(bool(state.ablated))
