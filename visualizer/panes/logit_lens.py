"""The logit-lens pane: each layer's residual stream read through the model's own output head."""

from __future__ import annotations

from ..state.lens_grid import lens_grid, lens_table, makes_lens
from .pane import Pane


def _widget(state):
    from ..views.lens_view import LensView

    return LensView(state)


def _figure(state):
    from ..figures.lens_figure import LensFigure

    return LensFigure(lens_grid(state), state)


PANE = Pane("logit-lens", "Logit lens", "logitLensPane",
            "What each layer would predict: every layer's residual stream through the final norm "
            "and the output head, the top token in each cell, coloured by its probability",
            _widget, _figure, lens_table, lambda state: f"logit-lens-{state.lens_color}",
            selectors=(), shown_for=makes_lens)
