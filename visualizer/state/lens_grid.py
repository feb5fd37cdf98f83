"""What the logit-lens pane, its figure, its data and its hover readout show, from a ViewState.

The numbers are ``engine.logit_lens``'s; this module labels them readably, picks the colouring
(``state.lens_color``: the top token's probability, or the true next token's) and words the hover.
No Qt here: the CLI uses it too.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from engine.logit_lens import LogitLens, logit_lens
from engine.readable_tokens import readable_token

from ..export.data_files import DataTable
from .prediction_rows import makes_predictions, probability_text
from .selection import AttentionSelection

COLORINGS = ("top", "target")
NO_TRACE = "nothing to export yet: run a sentence first"

_cache: list = []  # [(trace, model, LogitLens)]: the last lens, trace and model held weakly


def makes_lens(model) -> bool:
    """The lens needs an output head to read the layers with: the models that predict."""
    return makes_predictions(model)


def model_lens(state) -> LogitLens:
    """The lens of the current trace (computed once per trace); ValueError naming what is missing."""
    trace, model = state.trace, state.model
    if trace is None:
        raise ValueError(NO_TRACE)
    lens = cached_lens(state)
    if lens is None:
        lens = logit_lens(model, trace)  # InputError (a ValueError) without a head or a recording
        remember_lens(trace, model, lens)
    return lens


def cached_lens(state) -> LogitLens | None:
    """The lens of the current trace if it was computed already, else None."""
    if _cache and _cache[0][0]() is state.trace and _cache[0][1]() is state.model:
        return _cache[0][2]
    return None


def remember_lens(trace, model, lens: LogitLens) -> None:
    """Keep ``lens`` as the one of ``trace`` (computed elsewhere, e.g. on a pool thread)."""
    _cache[:] = [(weakref.ref(trace), weakref.ref(model), lens)]


def lens_cost(state) -> int:
    """Vocabulary scores the lens computes: rows × positions × vocabulary (0 without a trace)."""
    trace, model = state.trace, state.model
    if trace is None or model is None:
        return 0
    config = model.config
    layers = config.n_decoder_layers if config.has_decoder else config.n_encoder_layers
    positions = len(trace.target_tokens) if config.has_decoder else len(trace.source_tokens)
    return (layers + 1) * positions * config.vocab_size


def row_labels(lens: LogitLens) -> list[str]:
    """"embeddings" for the stream entering layer 0, then "layer i" for each layer's output."""
    return ["embeddings"] + [f"layer {i}" for i in range(len(lens.row_names) - 1)]


@dataclasses.dataclass(frozen=True)
class LensGrid:
    """The lens with its readable labels; ``matrix`` is what the colours show."""

    lens: LogitLens
    rows: list[str]  # row labels
    positions: list[str]  # the readable token at each position
    top: list[list[str]]  # the readable top token of every cell
    color_by: str  # "top" or "target"
    side: str  # "target" (a decoder) or "source" (an encoder-only model)
    title: str

    @property
    def matrix(self) -> np.ndarray:
        return self.lens.top_probs if self.color_by == "top" else self.lens.target_probs

    @property
    def masked(self) -> np.ndarray | None:
        """Target colouring: cells with no true token to score (grey, not a probability)."""
        if self.color_by != "target":
            return None
        missing = np.isnan(self.lens.target_probs)
        return missing if missing.any() else None

    @property
    def mask_label(self) -> str:
        """What a grey cell means here: the input shows no token to score at that position."""
        return "no next token" if self.side == "target" else "no true token"

    def target_token(self, position: int) -> str | None:
        target = int(self.lens.target_ids[position])
        return None if target < 0 else self.positions[position + 1 if self.side == "target" else position]

    def cell_text(self, row: int, position: int) -> str:
        """'layer 1, position 3 "chat": "dort" 42.1% (next "dort" 3.0%)'."""
        lens = self.lens
        where = f'{self.rows[row]}, position {position} "{self.positions[position]}"'
        text = f'{where}: "{self.top[row][position]}" {probability_text(lens.top_probs[row, position])}'
        target = self.target_token(position)
        if target is not None:
            word = "next" if self.side == "target" else "true"
            text += f' ({word} "{target}" {probability_text(lens.target_probs[row, position])})'
        return text


def lens_grid(state) -> LensGrid:
    lens = model_lens(state)
    trace = state.trace
    side = "target" if lens.stack == "decoder" else "source"
    names: dict[str, str] = {}
    top = [[names.setdefault(t, readable_token(t, trace.token_style)) for t in row]
           for row in lens.top_tokens.tolist()]
    color_by = state.lens_color if state.lens_color in COLORINGS else "top"
    what = "logit lens: each layer's top token, coloured by " + (
        "its probability" if color_by == "top" else
        ("the probability of the true next token" if side == "target" else
         "the probability of the true token"))
    model = state.model_name()
    return LensGrid(lens, row_labels(lens), state.token_labels(side), top, color_by, side,
                    f"{model} — {what}" if model else what)


def lens_selection(grid: LensGrid, state) -> AttentionSelection:
    """The grid as a heatmap selection (rows: layers, columns: positions), for the figure."""
    source, target = state.trace_inputs
    matrix = np.ascontiguousarray(np.nan_to_num(grid.matrix, nan=0.0), dtype=np.float32)
    return AttentionSelection(
        matrix=matrix, query_tokens=grid.rows, key_tokens=grid.positions, model=state.model_name(),
        kind="decoder" if grid.side == "target" else "encoder", source=source, target=target,
        colormap=state.colormap, title_text=grid.title, masked=grid.masked, mask_label=grid.mask_label,
        axis_names=("layer output read",
                    "position (predicting the token after it)" if grid.side == "target" else "position"))


def lens_table(state) -> DataTable:
    """NPZ: ``top_tokens``, ``top_probs``, ``target_probs`` ``[L+1, P]`` (DESIGN.md), ``top_ids``,
    ``target_ids``, ``rows`` (hook names) and ``position_tokens`` (pieces). CSV: ``top_probs``."""
    grid = lens_grid(state)
    lens, trace = grid.lens, state.trace
    source, target = state.trace_inputs
    metadata = {"model": state.model_name(), "source": source, "target": target or trace.output_text,
                "stack": lens.stack, "analysis": "logit lens (final norm applied)"}
    arrays = {"top_tokens": lens.top_tokens, "top_probs": lens.top_probs,
              "target_probs": lens.target_probs, "top_ids": lens.top_ids, "target_ids": lens.target_ids,
              "rows": np.array(lens.row_names, dtype=str)}
    return DataTable(lens.top_probs, grid.rows, grid.positions, metadata, arrays,
                     names=("layers", "position_tokens"), corner="layer \\ position",
                     column_pieces=list(trace.tokens(grid.side)))
