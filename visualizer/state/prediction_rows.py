"""What the predictions pane, its figure, its data and the hover readout show, from a ViewState.

The numbers are ``engine.predictions``'s; this module picks the rows (mask positions first),
labels them readably and says what they predict. No Qt here: the CLI uses it too.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from engine.predictions import MASK_TOKENS, Predictions, mask_positions, top_predictions
from engine.readable_tokens import at_position, readable_token

from ..export.data_files import DataTable

HOVER_TOP = 5  # predictions the hover readout lists for a position
OUTPUT_TOP = 3  # predictions the Output box lists for each mask
# A trace may compute its logits when first read (engine.on_first_read): the vocabulary product,
# positions × d_model × vocabulary multiply-adds. Up to this many (~5 ms) it is done where it is
# read; more is left to a pool thread, and the reader shows it when ready.
INLINE_LOGITS_WORK = 1e8
NO_TRACE = "nothing to export yet: run a sentence first"
NO_HEAD = "this model has no output head, so it makes no predictions"

# [(trace, model, k, Predictions)]: the last full table. Trace and model are held weakly, so a
# replaced trace's logits (or model) are freed as soon as nothing else shows them.
_cache: list = []


@dataclass(frozen=True)
class PredictionRows:
    """Every position's top-k (``predictions``) and the rows the pane lists, in ``order``."""

    predictions: Predictions
    side: str  # whose positions they are: "source" (encoder-only) or "target"
    tokens: list[str]  # the readable token at each position of that side
    order: list[int]  # rows of ``predictions`` as listed: mask positions first
    masks: list[int]  # positions holding a mask token
    style: str  # the trace's token style, for readable predicted tokens
    title: str

    @property
    def next_token(self) -> bool:
        """True when each row predicts the token after its position (a decoder's logits)."""
        return self.side == "target"

    def readable(self, row: int, rank: int) -> str:
        return readable_token(str(self.predictions.top_tokens[row, rank]), self.style)

    def row_label(self, row: int) -> str:
        position = int(self.predictions.positions[row])
        return f"{position}: {self.tokens[position]}"


def makes_predictions(model) -> bool:
    """Every model with a decoder predicts; an encoder-only one only with an (MLM) output head."""
    return model.config.has_decoder or bool(model.config.output_head)


def mask_token(model) -> str | None:
    """The mask piece the model's tokenizer knows ("[MASK]" or "<mask>"), if it has one."""
    tokenizer = model.tokenizer
    return next((token for token in MASK_TOKENS if tokenizer.token_to_id(token) is not None), None)


def prediction_side(trace) -> str:
    """Whose positions the logits are: the encoder's only when the model has no decoder."""
    return "target" if trace.target_tokens else "source"


def has_logits(trace) -> bool:
    """Whether the trace has logits (its model an output head), without computing them."""
    if trace is None:
        return False
    known = getattr(trace, "has_logits", None)  # reading ``trace.logits`` may compute them
    return known if known is not None else trace.logits is not None


def logits_pending(trace) -> bool:
    """Whether reading ``trace.logits`` (or its predicted tokens) would compute them now."""
    if not has_logits(trace):
        return False
    return not getattr(trace, "logits_computed", True)  # Trace asks without computing them


def logits_wait(state) -> bool:
    """Whether the trace's logits are still to be computed and too costly for the GUI thread."""
    trace = state.trace
    if not logits_pending(trace) or state.model is None:
        return False
    positions = len(trace.tokens(prediction_side(trace)))  # known without computing them
    config = state.model.config
    return positions * config.vocab_size * config.d_model > INLINE_LOGITS_WORK


def token_lookup(model):
    """The function naming a logit's id: the tokenizer of the side the head predicts."""
    tokenizer = getattr(model, "target_tokenizer", None) or model.tokenizer
    return tokenizer.id_to_token


def all_predictions(state) -> Predictions:
    """Every position's top ``state.top_k``; ValueError when there is no trace or no output head.

    Kept for the last trace, so a redraw, the figure and the data share one computation.
    """
    trace = state.trace
    if trace is None:
        raise ValueError(NO_TRACE)
    if not has_logits(trace):
        raise ValueError(NO_HEAD)
    if _cache and _cache[0][0]() is trace and _cache[0][1]() is state.model and _cache[0][2] == state.top_k:
        return _cache[0][3]
    predictions = top_predictions(trace.logits, token_lookup(state.model), state.top_k)
    _cache[:] = [(weakref.ref(trace), weakref.ref(state.model), state.top_k, predictions)]
    return predictions


def prediction_rows(state) -> PredictionRows:
    """The pane's rows: with a mask in the text, the masks only (or first, when every position is
    asked for); else every position in order."""
    predictions = all_predictions(state)
    trace = state.trace
    side = prediction_side(trace)
    masks = mask_positions(trace.tokens(side)) if side == "source" else []
    masked = set(masks)
    rest = [row for row in range(len(predictions.positions)) if row not in masked]
    order = masks + rest if not masks or state.predictions_every_position else list(masks)
    k = predictions.k
    if side == "target":
        what = f"top {k} next-token predictions"
    else:
        what = f"top {k} predictions at the masked positions" if masks and order == masks else \
            f"top {k} predictions at each position"
    model = state.model_name()
    return PredictionRows(predictions, side, state.token_labels(side), order, masks,
                          trace.token_style, f"{model} — {what}" if model else what)


def probability_text(probability: float) -> str:
    """92.1%; below 0.1% three significant digits (0.0123%), so no listed chance reads as zero."""
    percent = float(probability) * 100
    return f"{percent:.1f}%" if percent >= 0.1 else f"{percent:.3g}%"


def guesses_text(tokens: list[str], probabilities) -> str:
    """'"sees" 92.1%, "runs" 3.0%'."""
    return ", ".join(f'"{t}" {probability_text(p)}' for t, p in zip(tokens, probabilities, strict=True))


def position_guesses(state, side: str, position: int, n: int = HOVER_TOP) -> tuple[list[str], np.ndarray]:
    """The ``n`` likeliest readable tokens at one position and their probabilities; empty when
    that position has no logits (another side, no head, no trace)."""
    trace = state.trace
    if not has_logits(trace) or side != prediction_side(trace) \
            or not 0 <= position < len(trace.tokens(side)):
        return [], np.zeros(0, dtype=np.float32)
    row = top_predictions(trace.logits, token_lookup(state.model), n, positions=[position])
    return ([readable_token(str(t), trace.token_style) for t in row.top_tokens[0]], row.top_probs[0])


def hover_text(state, n: int = HOVER_TOP) -> str:
    """'after "cat" #3: "sees" 40.1%, …' for the hovered position; "" when it predicts nothing."""
    side, position = state.hover
    tokens, probabilities = position_guesses(state, side, position, n)
    if not tokens:
        return ""
    where = "after" if side == "target" else "at"
    trace = state.trace
    token = readable_token(trace.tokens(side)[position], trace.token_style)  # not the whole list
    return f"{where} {at_position(token, position)}: {guesses_text(tokens, probabilities)}"


def mask_summary(state, n: int = OUTPUT_TOP) -> str:
    """'[MASK] → "sees" 92.1%, "runs" 3.0%' for each mask of an encoder-only text; "" without."""
    trace = state.trace
    if not has_logits(trace) or prediction_side(trace) != "source":
        return ""
    parts = []
    for position in mask_positions(trace.source_tokens):
        tokens, probabilities = position_guesses(state, "source", position, n)
        parts.append(f"{trace.source_tokens[position]} → {guesses_text(tokens, probabilities)}")
    return " · ".join(parts)


def predictions_table(state) -> DataTable:
    """NPZ: ``top_ids``, ``top_tokens`` (the tokenizer's pieces), ``top_probs``, ``positions`` for
    every position with logits, and ``position_tokens``. CSV: ``top_probs``, one row a position."""
    rows = prediction_rows(state)
    predictions, trace = rows.predictions, state.trace
    source, target = state.trace_inputs
    metadata = {"model": state.model_name(), "source": source, "target": target or trace.output_text,
                "k": predictions.k, "side": rows.side,
                "predicts": "the next token" if rows.next_token else "the token at each position"}
    arrays = {"top_ids": predictions.top_ids, "top_tokens": predictions.top_tokens,
              "top_probs": predictions.top_probs, "positions": predictions.positions,
              "position_tokens": np.array(trace.tokens(rows.side), dtype=str)}
    return DataTable(predictions.top_probs, [rows.row_label(r) for r in range(len(predictions.positions))],
                     [f"top {i + 1}" for i in range(predictions.k)], metadata, arrays,
                     names=("position_labels", "ranks"), corner="position \\ rank")


__all__ = ["MASK_TOKENS", "PredictionRows", "all_predictions", "has_logits", "hover_text", "logits_pending",
           "logits_wait", "makes_predictions", "mask_summary", "mask_token", "prediction_rows",
           "predictions_table"]
