"""The depth pane: each token's residual-stream norm and every norm's mean and std, layer by layer."""

from __future__ import annotations

import numpy as np

from engine.kinds import KINDS

from ..export.data_files import DataTable
from ..state.depth_series import depth_series, shown_stack
from .pane import Pane


def _widget(state):
    from ..views.depth_plot_view import DepthPlotView

    return DepthPlotView(state)


def _figure(state):
    from ..figures import DepthFigure

    return DepthFigure.of_state(state)


def _data(state):
    """CSV: residual norms, readable tokens × depth points. NPZ: the tokenizer's own pieces as
    ``tokens``, and also each norm's ``mean`` and ``std`` with their labels (``mean_labels``,
    ``std_labels``)."""
    stack = shown_stack(state)
    if not stack:
        raise ValueError("nothing to export yet: run a sentence first")
    series = depth_series(state.trace, stack)
    labels, norms = series["resid"]
    side = KINDS["encoder" if stack == "encoder" else "decoder"].queries
    arrays = {}
    for key in ("mean", "std"):
        if key in series:
            arrays[key] = np.asarray(series[key][1], dtype=np.float32)
            arrays[f"{key}_labels"] = np.array(series[key][0], dtype=str)
    source, target = state.trace_inputs
    metadata = {"model": state.model_name(), "stack": stack, "values": "residual-stream L2 norm",
                "source": source, "target": target or state.trace.output_text}
    return DataTable(norms, state.token_labels(side), labels, metadata, arrays,
                     names=("tokens", "points"), corner="token \\ depth",
                     row_pieces=list(state.trace.tokens(side)))


PANE = Pane("depth", "Depth", "depthPane",
            "How each token's residual stream and norm statistics change through the layers",
            _widget, _figure, _data, lambda state: f"{shown_stack(state)}-depth", selectors=())
