"""The logit-lens pane: each layer's residual stream read through the model's own output head."""

from __future__ import annotations

from .pane import Pane

# state.lens_grid is imported on first use, not with the registry (~10 ms of the window's start).


def _widget(state):
    from ..views.lens_view import LensView

    return LensView(state)


def _figure(state):
    from ..figures.lens_figure import LensFigure
    from ..state.lens_grid import lens_grid

    return LensFigure(lens_grid(state), state)


def _table(state):
    from ..state.lens_grid import lens_table

    return lens_table(state)


def _shown_for(model) -> bool:
    from ..state.lens_grid import makes_lens

    return makes_lens(model)


PANE = Pane("logit-lens", "Logit lens", "logitLensPane",
            "What each layer would predict: every layer's residual stream through the final norm "
            "and the output head, the top token in each cell, coloured by its probability",
            _widget, _figure, _table, lambda state: f"logit-lens-{state.lens_color}",
            selectors=(), shown_for=_shown_for)
