"""AblationBar: cut a head's output and rerun, to see what the model does without it."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from engine.kinds import KINDS

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
        self.summary = QLabel(objectName="ablationSummary")
        self.clear_button = QPushButton("Restore all", objectName="clearAblationButton")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle_button)
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

    def _refresh(self, *_args) -> None:
        state = self.state
        single_head = state.model is not None and isinstance(state.head, int)
        self.toggle_button.setEnabled(single_head)
        current = (state.kind, state.layer, state.head) in state.ablated
        self.toggle_button.setChecked(single_head and current)
        self.toggle_button.setText("Ablated ✓" if single_head and current else "Ablate head")
        self.summary.setText(summarize(state.ablated))
        self.summary.setToolTip(tooltip(state.ablated))
        self.clear_button.setVisible(bool(state.ablated))
