"""InputPanel: source and target text, the Run button, the model's output, facts and tokens.

It adapts to the architecture: one text box for an encoder-only model, a prompt and a
"Continue N tokens" budget for a decoder-only one; and for every model with an output head, the
hovered position's top predictions.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..state.app_state import AppState
from ..state.family_facts import family_facts, rope_scaling_text
from ..state.prediction_rows import (
    HOVER_TOP,
    has_logits,
    hover_text,
    logits_pending,
    logits_wait,
    makes_predictions,
    mask_summary,
    mask_token,
    prediction_side,
)
from .selection_bar import local_window
from .token_chips import TokenChips

NO_MODEL_TEXT = ("No model loaded. Open a checkpoint with File → Open checkpoint…, "
                 "or drop a file onto the window.")


def format_count(count: int) -> str:
    """12_345_678 -> "12.3 M": how a person reads a parameter count."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return str(count)


def model_facts(model) -> list[tuple[str, str]]:
    """(label, value) rows describing ``model`` for the facts box."""
    config = model.config
    layers = {"encoder-decoder": f"{config.n_encoder_layers} enc + {config.n_decoder_layers} dec",
              "encoder-only": str(config.n_encoder_layers),
              "decoder-only": str(config.n_decoder_layers)}[config.architecture]
    count = getattr(model, "parameter_count", None)
    tokenizer = model.tokenizer
    vocab = getattr(tokenizer, "vocab_size", config.vocab_size)
    # NaN or inf weights load (the file is the user's), but nothing they touch means anything.
    poisoned = list(getattr(model, "nonfinite_tensors", ()))
    warning = []
    if poisoned:
        names = ", ".join(poisoned[:3]) + (", …" if len(poisoned) > 3 else "")
        counted = "1 tensor contains" if len(poisoned) == 1 else f"{len(poisoned)} tensors contain"
        warning.append(("⚠ Weights", f"{counted} NaN or inf: {names}"))
    return [
        ("Name", model.name),
        *warning,
        *family_facts(config),
        ("Architecture", f"{config.architecture}, {config.norm_placement}-{config.norm_type}"),
        ("Layers × heads", f"{layers} × {config.n_heads}"),
        *attention_facts(config),
        *softcap_facts(config),
        ("d_model", f"{config.d_model} (d_ff {config.d_ff})"),
        ("Parameters", format_count(count) if count is not None else "?"),
        ("Tokenizer", f"{getattr(tokenizer, 'kind', type(tokenizer).__name__)}, {vocab} tokens"),
        *decoding_facts(model),
    ] + training_facts(getattr(model, "training", None) or {})


def decoding_facts(model) -> list[tuple[str, str]]:
    """How a model with a decoder writes: greedy, with its folder's end tokens and rules."""
    if not model.config.has_decoder:
        return []
    from engine.generation import describe  # torch is loaded with the model

    tokens_of = getattr(model, "target_tokenizer", model.tokenizer).tokens_of
    return [("Decoding", describe(model.config, tokens_of))]


def attention_facts(config) -> list[tuple[str, str]]:
    """Which layers attend locally (and how far), and the rotary bases: rows only where they apply."""
    rows = []
    kind = "encoder" if config.has_encoder else "decoder"
    count = config.n_encoder_layers if config.has_encoder else config.n_decoder_layers
    windows = [local_window(config, kind, i) for i in range(count)]
    local = [i for i, window in enumerate(windows) if window]
    if local:  # the engine has one window, shared by every local layer
        reach = f"{windows[local[0]]} tokens"
        overall = [i for i, window in enumerate(windows) if not window]
        rows.append(("Attention", (f"layers {_numbers(local)} local ({reach}); {_numbers(overall)} global"
                                   if overall else f"every layer local ({reach})")))
    if config.positions == "rotary":
        bases = f"θ {config.rope_theta:,.0f}"
        if local and config.local_rope_theta is not None:
            bases += f" global / {config.local_rope_theta:,.0f} local"
        share = f", {config.rotary_fraction:.0%} of each head" if config.rotary_fraction < 1 else ""
        rows.append(("Positions", f"rotary ({bases}{share}{rope_scaling_text(config)})"))
    return rows


def softcap_facts(config) -> list[tuple[str, str]]:
    """Gemma's tanh soft-capping, and a model opened without its image encoder."""
    caps = [f"{what} at ±{cap:g}" for what, cap in (("attention scores", config.attention_softcap),
                                                     ("logits", config.final_logit_softcap)) if cap]
    rows = [("Soft-capped", "; ".join(caps) + " (c·tanh(x / c))")] if caps else []
    if config.extra.get("text_model_only"):
        rows.append(("Text model only", config.extra["text_model_only"]))
    return rows


def _numbers(values: list[int]) -> str:
    return ", ".join(str(v) for v in values)


def training_facts(training: dict) -> list[tuple[str, str]]:
    """What the checkpoint says about its training, when it says it (imported models do not)."""
    rows = []
    steps, pairs, examples = (training.get(k) for k in ("steps", "train_pairs", "train_examples"))
    if isinstance(steps, int):
        on_pairs = (f" on {pairs:,} pairs" if isinstance(pairs, int)
                    else f" on {examples:,} examples" if isinstance(examples, int) else "")
        rows.append(("Trained", f"{steps:,} steps{on_pairs}"))
    evaluation = training.get("eval") if isinstance(training.get("eval"), dict) else {}
    held_out = f" of {evaluation['n']} held out" if isinstance(evaluation.get("n"), int) else ""
    scores = {"exact_match": "Exact match", "repeat_accuracy": "Repeat accuracy"}
    for key, label in scores.items():
        if isinstance(evaluation.get(key), (int, float)):
            rows.append((label, f"{evaluation[key]:.1%}{held_out}"))
    head = evaluation.get("best_alignment_head")
    if isinstance(head, list) and len(head) == 2 and isinstance(evaluation.get("alignment_accuracy"), float):
        rows.append(("Aligning head", f"cross L{head[0]} H{head[1]}, "
                                      f"{evaluation['alignment_accuracy']:.0%} aligned"))
    # The heads a single-stack demo model's training found doing the work (engine/tasks).
    from engine.kinds import KINDS  # Qt-free and torch-free: the kinds' short names

    measures = {"induction": "induction score {:.2f}", "previous_token": "previous-token score {:.2f}",
                "subject_share": "{:.0%} of masks look at the subject",
                "predicate_share": "{:.0%} of masks look at the next words"}
    for entry in evaluation.get("heads") if isinstance(evaluation.get("heads"), list) else []:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), int) for k in ("layer", "head")):
            continue
        score = entry.get("score")
        measure = measures.get(entry.get("statistic"), "score {:.2f}")
        kind = KINDS[entry["kind"]].short if entry.get("kind") in KINDS else entry.get("kind")
        where = f"{kind} L{entry['layer']} H{entry['head']}"
        rows.append((f"{str(entry.get('role', 'named')).capitalize()} head",
                     f"{where}, {measure.format(score)}" if isinstance(score, (int, float)) else where))
    zeroed = evaluation.get("zeroed") if isinstance(evaluation.get("zeroed"), dict) else {}
    if isinstance(zeroed.get("heads"), list) and isinstance(zeroed.get("value"), (int, float)):
        names = ", ".join(f"L{h[0]} H{h[1]}" for h in zeroed["heads"] if isinstance(h, list) and len(h) == 2)
        label = scores.get(zeroed.get("score"), "score").lower()
        rows.append((f"{str(zeroed.get('role', 'named')).capitalize()} heads zeroed",
                     f"{names}: {label} {zeroed['value']:.0%}"))
    return rows


OUTPUT_PLACEHOLDER = "The model's output appears here"
ENDED_AT_ONCE = "(the model ended at once: empty output)"
COMPUTING = "computing the predictions…"  # while a pool thread computes the logits


def reads_predictions(trace, target_given: bool) -> bool:
    """Whether the Output box shows predictions (``output_line`` or a mask summary), not decoded text."""
    return has_logits(trace) and (target_given or not trace.target_ids)


def output_line(trace, target_given: bool) -> str:
    """What the Output box says about ``trace``: never silently empty once the model ran.

    Decoded: the text the model wrote, or that it wrote nothing. Given a target (nothing is
    decoded): the token the model predicts at each position, so the user sees what it would write.
    """
    if not target_given and trace.target_ids:  # the model decoded (an encoder-only model cannot)
        return trace.output_text if trace.output_text.strip() else ENDED_AT_ONCE
    if trace.predicted_tokens:
        return "Predicted: " + " ".join(t if t.strip() else repr(t) for t in trace.predicted_tokens)
    return ""


INPUT_ROLES = {  # architecture -> (source label, target label, target placeholder)
    "encoder-decoder": ("Source:", "Target:", "Empty: the model writes it"),
    "decoder-only": ("Prompt:", "Continuation:", "Empty: the model continues the prompt"),
    "encoder-only": ("Text:", "Target:", "(an encoder-only model takes no target)"),
}
MAX_CONTINUATION = 4096  # the spin box's top; a learned-position model stops at its own limit
HOVER_HINT = f"Hover a token (chips or heatmap rows) for its top {HOVER_TOP} predictions"
ERROR_STYLE = "color: #b00020;"  # a dark red that reads on the light panel


class InputPanel(QWidget):
    """Where the user types and runs; shows what the model made of the text.

    The two boxes and ``state.source_text`` / ``state.target_text`` always hold the same text.

    Signals:
        runRequested(): the user asked to run (Run, Enter in a box, Ctrl+Enter).
        predictionsWanted(): the Output box or the hover readout waits for the trace's logits,
            too costly to compute here; ``show_predictions(trace)`` once they are.
    """

    runRequested = Signal()
    predictionsWanted = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self._busy = False  # a run or load is in flight (set_busy)
        self.source_input = QLineEdit(objectName="sourceInput")
        self.source_input.setPlaceholderText("Source sentence")
        self.target_input = QLineEdit(objectName="targetInput")
        self.target_input.setPlaceholderText("Empty: the model writes it")
        self.target_input.setClearButtonEnabled(True)
        self.run_button = QPushButton("Run  (Ctrl+Enter)", objectName="runButton")
        self.run_button.setToolTip("Run the model on the source (and target) text")
        self.output_view = QLineEdit(objectName="outputView", readOnly=True)
        self.output_view.setPlaceholderText(OUTPUT_PLACEHOLDER)
        # The value becomes the state's max_new_tokens when the user changes it; until then the
        # engine's own default applies (shown here once a decoder-only model is open).
        self.continue_box = QSpinBox(objectName="continueTokens", minimum=0, maximum=MAX_CONTINUATION,
                                     suffix=" tokens", keyboardTracking=False)
        self.continue_box.setSpecialValueText("0 tokens (the prompt alone)")
        self.continue_box.setToolTip("How many tokens the model writes after the prompt (greedy)")
        self.hover_predictions = QLabel(HOVER_HINT, objectName="hoverPredictions", wordWrap=True)
        self.hover_predictions.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # Room for three lines from the start, and no width from its text: a hover that changed its
        # size would re-lay-out the panel and repaint every token chip below it.
        self.hover_predictions.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hover_predictions.setMinimumHeight(3 * self.hover_predictions.fontMetrics().lineSpacing())
        self.error_label = QLabel(objectName="runErrorLabel", wordWrap=True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.hide()
        self.facts_label = QLabel(objectName="modelFacts", wordWrap=True)
        self.facts_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.token_chips = TokenChips(state)  # follows the trace and the hover itself
        # Long inputs make more chips than the panel is tall: scroll them, never clip the target.
        self.tokens_scroll = QScrollArea(objectName="tokensScroll", widgetResizable=True)
        self.tokens_scroll.setFrameShape(QFrame.NoFrame)
        self.tokens_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # chips wrap instead
        self.tokens_scroll.setWidget(self.token_chips)

        inputs = self.inputs_form = QFormLayout()
        self.source_label, self.target_label = QLabel("Source:"), QLabel("Target:")
        inputs.addRow(self.source_label, self.source_input)
        inputs.addRow(self.target_label, self.target_input)
        inputs.addRow("Continue:", self.continue_box)
        # The run's progress row joins this line, beside the button (main_window.py): shown and
        # hidden, it never moves the rows below it, the token chips included.
        self.run_line = QHBoxLayout()
        self.run_line.addWidget(self.run_button, 1)
        inputs.addRow(self.run_line)
        inputs.addRow(self.error_label)
        inputs.addRow("Output:", self.output_view)
        inputs.addRow(f"Top {HOVER_TOP}:", self.hover_predictions)
        input_box = QGroupBox("Input")
        input_box.setLayout(inputs)
        facts_box = QGroupBox("Model")
        QVBoxLayout(facts_box).addWidget(self.facts_label)
        tokens_box = QGroupBox("Tokens, as the model sees them")
        QVBoxLayout(tokens_box).addWidget(self.tokens_scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(input_box)
        layout.addWidget(facts_box)
        layout.addWidget(tokens_box, 1)

        for box in (self.source_input, self.target_input):
            box.textChanged.connect(self._on_text_edited)
        self.continue_box.valueChanged.connect(lambda n: state.set_option(max_new_tokens=n))
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self.run_button.clicked.connect(self.request_run)
        self.source_input.returnPressed.connect(self.request_run)
        self.target_input.returnPressed.connect(self.request_run)
        self._on_model_changed(state.model)

    def request_run(self) -> None:
        self.runRequested.emit()

    def _on_text_edited(self, _text: str) -> None:
        self.state.set_inputs(self.source_input.text(), self.target_input.text())

    def _on_inputs_changed(self) -> None:
        for box, text in ((self.source_input, self.state.source_text),
                          (self.target_input, self.state.target_text)):
            if box.text() != text:
                box.blockSignals(True)
                box.setText(text)
                box.blockSignals(False)
        # A given continuation is read, not written: the budget then means nothing.
        self.continue_box.setEnabled(not self.state.target_text)
        self.show_error("")  # the text the error was about has changed

    def show_error(self, message: str) -> None:
        """Say why the last run failed, above the output it left in place ("" hides it)."""
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _on_options_changed(self) -> None:
        budget = self.state.max_new_tokens
        if budget is not None and self.continue_box.value() != budget:
            self.continue_box.blockSignals(True)
            self.continue_box.setValue(budget)
            self.continue_box.blockSignals(False)

    def _on_hover_changed(self, side: str, position: int) -> None:
        state = self.state
        # Computing logits waits for the model's run lock: during a run, even cheap ones would
        # hold the window until the run ends.
        if position >= 0 and state.trace is not None and side == prediction_side(state.trace) \
                and (logits_wait(state) or self._busy and logits_pending(state.trace)):
            self._show_hover(COMPUTING)
            self.predictionsWanted.emit()  # dropped while a run is in flight: its trace comes next
            return
        self._show_hover(hover_text(state) or HOVER_HINT)

    def _show_hover(self, text: str) -> None:
        label = self.hover_predictions
        # Taller for a longer text, never shorter again: a readout that shrank and grew with each
        # hover would move every token chip below it, under the mouse.
        if label.isVisible() and label.height() > label.minimumHeight():
            label.setMinimumHeight(label.height())
        label.setText(text)

    def show_predictions(self, trace) -> None:
        """The trace's logits are computed: fill what waited for them."""
        if trace is self.state.trace:
            self._show_output(trace)
            self._on_hover_changed(*self.state.hover)

    def set_busy(self, busy: bool, description: str = "") -> None:
        self._busy = busy
        self.run_button.setText("Working…" if busy else "Run  (Ctrl+Enter)")
        if self.state.model is None:
            self.facts_label.setText(description if busy and description else NO_MODEL_TEXT)

    # ---- state handlers -------------------------------------------------------------------
    def _on_model_changed(self, model) -> None:
        self.run_button.setEnabled(model is not None)
        architecture = model.config.architecture if model is not None else "encoder-decoder"
        self._label_inputs(architecture)
        self.inputs_form.setRowVisible(self.continue_box, architecture == "decoder-only")
        if architecture == "decoder-only" and self.state.max_new_tokens is None:
            from engine.inspectable_model import DECODER_ONLY_CONTINUATION  # loaded with the model

            self.continue_box.blockSignals(True)  # the engine's default, not a choice of the user
            self.continue_box.setValue(DECODER_ONLY_CONTINUATION)
            self.continue_box.blockSignals(False)
        self.inputs_form.setRowVisible(self.hover_predictions, model is not None and makes_predictions(model))
        self._on_hover_changed(*self.state.hover)
        if model is None:
            self.facts_label.setText(NO_MODEL_TEXT)
        else:
            rows = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;</td><td>{html.escape(v)}</td></tr>"
                           for k, v in model_facts(model))
            self.facts_label.setText(f"<table>{rows}</table>")

    def _label_inputs(self, architecture: str) -> None:
        """Name the two inputs for what this kind of model does with them."""
        source, target, hint = INPUT_ROLES[architecture]
        self.source_label.setText(source)
        self.target_label.setText(target)
        self.target_input.setPlaceholderText(hint)
        self.source_input.setPlaceholderText(self._source_hint(architecture))
        self.target_input.setEnabled(architecture != "encoder-only")  # it takes no target text
        self.inputs_form.setRowVisible(self.target_input, architecture != "encoder-only")
        if architecture == "encoder-only":
            self.target_input.clear()

    def _source_hint(self, architecture: str) -> str:
        model = self.state.model
        mask = mask_token(model) if model is not None and architecture == "encoder-only" \
            and makes_predictions(model) else None
        if mask:
            return f"Text; put {mask} where the model should fill in a word"
        return {"decoder-only": "Prompt: the model continues it", "encoder-only": "Text"}.get(
            architecture, "Source sentence")

    def _on_trace_changed(self, trace) -> None:
        if trace is not None:
            self.show_error("")
        self._show_output(trace)
        if self.hover_predictions.text() == COMPUTING:  # it waited for this run
            self._on_hover_changed(*self.state.hover)

    def _show_output(self, trace) -> None:
        given = bool(self.state.trace_inputs[1])
        if trace is not None and reads_predictions(trace, given) and logits_wait(self.state):
            text = COMPUTING  # the heatmap first; the line when a pool thread has the logits
            self.predictionsWanted.emit()
        else:
            # An encoder-only text with a [MASK]: what the model fills in, with probabilities.
            text = mask_summary(self.state) or (output_line(trace, given) if trace is not None else "")
        self.output_view.setText(text)
        self.output_view.setCursorPosition(0)  # a long line shows its start, not its end
        self.output_view.setToolTip(text)
