"""PatchingView: a clean and a corrupted text, and where patching the clean run in restores it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from engine.kinds import kind_title

from ..state.app_state import AppState
from ..state.sweep_tables import patching_selection
from ..state.sweeps import PATCHING, patching_inputs, stored_result
from ..sweep_controller import SweepController
from ..widgets.sweep_bar import SweepBar
from . import look
from .matrix_map import MatrixMap
from .sweep_view import SweepView

INTRO = ("Type the same sentence twice, differing in one detail (\"white\" → \"black\"): the clean run "
         "is patched, one layer and position at a time, into the corrupted run. 1 = that residual "
         "alone restores the clean output, 0 = it does nothing.")
RESIDUAL_HINT = "Hover a cell for its effect"
HEAD_HINT = "Hover a head for its effect · click it to open its attention"
# What the empty maps say until a sweep has run for these texts.
RESIDUAL_EMPTY = "Run patching to see each layer × position's effect here"
HEAD_EMPTY = "… and each head's effect here"


class PatchingView(SweepView):
    """Two inputs, Run / progress / Cancel, the residual map and the selected kind's head map.

    Signals:
        headActivated(str, int, int): a head of the head map was clicked; it is now selected.
    """

    headActivated = Signal(str, int, int)

    SWEEP = PATCHING

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("patchingView")
        self.state = state
        self._watching_window = False
        self.controller = SweepController(self)
        self.clean_input = QLineEdit(objectName="patchCleanInput")
        self.clean_input.setToolTip("The run whose activations are patched in; empty: the source box's text")
        self.corrupted_input = QLineEdit(objectName="patchCorruptedInput")
        self.corrupted_input.setPlaceholderText("the same sentence with one detail changed, e.g. "
                                                "the black cat … for the white cat …")
        self.corrupted_input.setToolTip("Must have as many tokens as the clean text")
        self.sweep_bar = SweepBar(self.controller, "patching", "Run patching")
        intro = QLabel(INTRO, wordWrap=True)
        form = QFormLayout()
        form.addRow("Clean:", self.clean_input)
        form.addRow("Corrupted:", self.corrupted_input)
        self.caption = QLabel(objectName="patchingCaption", wordWrap=True,
                              textFormat=Qt.TextFormat.PlainText)
        self.residual_map = MatrixMap("patchingResidualMap", RESIDUAL_HINT)
        self.head_map = MatrixMap("patchingHeadMap", HEAD_HINT)
        maps = QHBoxLayout()
        maps.addWidget(self.residual_map, 3)
        maps.addWidget(self.head_map, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.sweep_bar)
        layout.addWidget(self.caption)
        layout.addLayout(maps, 1)

        self.clean_input.textEdited.connect(lambda text: state.set_option(patch_clean=text))
        self.corrupted_input.textEdited.connect(lambda text: state.set_option(patch_corrupted=text))
        self.corrupted_input.returnPressed.connect(self.start)
        self.clean_input.returnPressed.connect(self.start)
        self.sweep_bar.run_button.clicked.connect(self.start)
        self.controller.finished.connect(self._on_sweep_finished)
        self.head_map.cellClicked.connect(self._on_head_clicked)
        state.subscribe(self)
        self._on_options_changed()

    # ---- state handlers ---------------------------------------------------------------------
    def _on_inputs_changed(self) -> None:
        self._show_clean_placeholder()
        self.redraw()

    def _on_model_changed(self, _model) -> None:
        self.controller.cancel(quiet=True)
        self.redraw()

    def _on_selection_changed(self) -> None:
        self.redraw()

    def _on_loading_changed(self, _name: str) -> None:
        self.redraw()  # the empty map says which model is loading

    def _on_options_changed(self) -> None:
        for box, text in ((self.clean_input, self.state.patch_clean),
                          (self.corrupted_input, self.state.patch_corrupted)):
            if box.text() != text:
                box.setText(text)
        self._show_clean_placeholder()
        self.redraw()

    def _show_clean_placeholder(self) -> None:
        source = self.state.source_text.strip()
        self.clean_input.setPlaceholderText(f"{source}   (the source box's text)" if source
                                            else "the clean text (empty: the source box's)")

    # ---- the sweep ----------------------------------------------------------------------------
    # ---- drawing --------------------------------------------------------------------------------
    def redraw(self) -> None:
        state = self.state
        result = stored_result(state, PATCHING)
        if result is None:
            self.residual_map.clear(look.placeholder(state, RESIDUAL_EMPTY))
            self.head_map.clear(HEAD_EMPTY)
            self.caption.setText("")
            return
        kind = state.kind if state.kind in result.head_effect else next(iter(result.head_effect))
        residual = patching_selection(state.core)
        # The axis marks a changed position with "*" ("white→black" would thin the labels out);
        # the hover names both tokens.
        short = [label.split("→")[0] + "*" if "→" in label else label for label in residual.key_tokens]
        self.residual_map.show_selection(residual, "clean resid_pre patched in", axis_columns=short)
        self.head_map.show_selection(patching_selection(state.core, heads=True), "one head's .z patched in")
        clean, corrupted, target = patching_inputs(state)
        target_text = " ".join(result.target_tokens)
        shown = f"target: {target_text} ({'given' if target else 'decoded from the clean text'}); " \
            if state.model.config.architecture == "encoder-decoder" else ""
        self.caption.setText(
            f"{shown}m = {result.metric}: clean {result.m_clean:.3f}, corrupted {result.m_corrupted:.3f}. "
            f"Left: the clean {result.stack} residual entering each layer, at one position (*: where "
            f"the texts differ). Right: each {kind_title(kind)} head's clean .z alone (choose the kind "
            "above).")

    def _on_head_clicked(self, layer: int, head: int) -> None:
        result = stored_result(self.state, PATCHING)
        if result is None:
            return
        kind = self.state.kind if self.state.kind in result.head_effect else next(iter(result.head_effect))
        self.state.set_selection(kind=kind, layer=layer, head=head)
        self.headActivated.emit(kind, layer, head)
