"""The predictions pane: the top-k tokens at every position with logits, with probabilities."""

from __future__ import annotations

from ..state.prediction_rows import makes_predictions, prediction_rows, predictions_table
from .pane import Pane


def _widget(state):
    from ..views.predictions_view import PredictionsView

    return PredictionsView(state)


def _figure(state):
    from ..figures.predictions_figure import PredictionsFigure

    return PredictionsFigure(prediction_rows(state), state.colormap)


PANE = Pane("predictions", "Predictions", "predictionsPane",
            "The likeliest tokens at each position, with probabilities: the next token for a "
            "decoder, the token at a [MASK] for an encoder with an MLM head",
            _widget, _figure, predictions_table,
            lambda state: f"predictions-top{state.top_k}", selectors=(),
            shown_for=makes_predictions)
