"""What the head-statistics pane, its figure and its data show, from a ViewState. No Qt here.

The numbers are ``engine.head_stats``'s for the trace on screen, or ``engine.corpus_stats``'s
means when the state holds statistics over a corpus (``state.head_stats_corpus``). The CLI uses
this module too, so ``--view head-stats`` writes what the pane shows.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from engine.head_stats import STATISTICS, head_stats
from engine.kinds import KINDS, kind_title

from ..export.data_files import DataTable

ALIGNMENT = "alignment"  # cross-attention heads against gold alignments, after an evaluation
TITLES = {"entropy": "entropy (nats)", "max_weight": "max weight", "first_token": "first token",
          "previous_token": "previous token", "diagonal": "diagonal", "mean_distance": "mean distance",
          "induction": "induction", ALIGNMENT: "alignment accuracy"}
UNBOUNDED = ("entropy", "mean_distance")  # coloured from 0 to their largest value; the rest 0..1
NO_TRACE = "nothing to show yet: run a sentence, or compute statistics over a corpus"
MAX_NAMED = 4  # more ablated heads than this are counted, not named
_cache: list = []  # [(trace, kind, stats)]: the last trace's statistics, held weakly


@dataclass(frozen=True)
class HeadStatTable:
    """Every statistic of one kind's heads, ``[layers, heads]`` each, and the one chosen."""

    kind: str
    stats: dict[str, np.ndarray]  # STATISTICS, and ALIGNMENT when evaluated (cross only)
    statistic: str  # the chosen one: the overview's colours
    model_name: str
    over: str  # "this input" or "mean over 500 inputs (sentences.txt)"
    corpus: object = None  # the CorpusStats, when the numbers are over a corpus

    @property
    def matrix(self) -> np.ndarray:
        return self.stats[self.statistic]

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def levels(self) -> tuple[float, float]:
        if self.statistic not in UNBOUNDED:
            return 0.0, 1.0
        finite = self.matrix[np.isfinite(self.matrix)]
        high = float(finite.max()) if finite.size else 0.0
        return 0.0, high if high > 0 else 1.0

    @property
    def heading(self) -> str:
        """"translator — Cross-attention (decoder → encoder) heads: entropy (nats)"."""
        what = f"{kind_title(self.kind)} heads: {TITLES[self.statistic]}"
        return f"{self.model_name} — {what}" if self.model_name else what

    @property
    def title(self) -> str:
        return f"{self.heading}, {self.over}"

    def head_name(self, layer: int, head: int) -> str:
        return f"{KINDS[self.kind].short} L{layer} H{head}"

    def readout(self, layer: int, head: int) -> str:
        """'cross L0 H2 · alignment accuracy 1.000 · entropy 0.412' (the chosen statistic first)."""
        value = value_text(self.matrix[layer, head])
        parts = [self.head_name(layer, head), f"{TITLES[self.statistic]} {value}"]
        if self.statistic != "entropy":
            parts.append(f"entropy {value_text(self.stats['entropy'][layer, head])}")
        return " · ".join(parts)


def value_text(value: float) -> str:
    """Three decimals; NaN (undefined here) as "—"."""
    return "—" if math.isnan(value) else f"{value:.3f}"


def ablation_note(ablated) -> str:
    """", with 2 heads ablated (enc L0 H1, cross L1 H0)": the numbers are not the model's own."""
    if not ablated:
        return ""
    names = [f"{KINDS[kind].short} L{layer} H{head}" for kind, layer, head in ablated]
    shown = f" ({', '.join(names)})" if len(names) <= MAX_NAMED else ""
    return f", with {len(names)} head{'s' * (len(names) != 1)} ablated{shown}"


def statistics_of(state) -> tuple[str, ...]:
    """The statistics the pane offers: the seven, and the alignment after an evaluation."""
    corpus = state.head_stats_corpus
    alignment = corpus is not None and corpus.alignment is not None and state.kind == "cross"
    return STATISTICS + ((ALIGNMENT,) if alignment else ())


def head_stat_table(state) -> HeadStatTable:
    """The pane's numbers for ``state.kind``; ValueError when there is nothing to show."""
    kind, corpus = state.kind, state.head_stats_corpus
    if corpus is not None and kind in corpus.stats:
        stats = dict(corpus.of(kind))
        if kind == "cross" and corpus.alignment is not None:
            stats[ALIGNMENT] = corpus.alignment
        over = corpus.description + ablation_note(corpus.ablated)
    else:
        trace = state.trace
        if trace is None:
            raise ValueError(NO_TRACE)
        if kind not in trace.attention:
            raise ValueError(f"this trace has no {kind} attention")
        stats, over, corpus = _trace_stats(trace, kind), "this input" + ablation_note(trace.ablated), None
    statistic = state.head_stat if state.head_stat in stats else "entropy"
    return HeadStatTable(kind, stats, statistic, state.model_name(), over, corpus)


def trace_stats(trace, kind: str) -> dict[str, np.ndarray]:
    """``trace``'s statistics of ``kind``, computed once and kept (a pool thread may call it: a
    lean trace's every layer is replayed)."""
    return _trace_stats(trace, kind)


def _trace_stats(trace, kind: str) -> dict[str, np.ndarray]:
    # Kept for the last trace: the view, the figure and the data share one computation.
    for ref, cached_kind, stats in _cache:
        if ref() is trace and cached_kind == kind:
            return stats
    stats = head_stats(trace, kind)
    _cache[:] = [entry for entry in _cache if entry[0]() is trace][-2:] + [(weakref.ref(trace), kind, stats)]
    return stats


def head_stat_data(state) -> DataTable:
    """NPZ: every statistic ``[layers, heads]`` (``entropy`` … ``induction``, and over a corpus
    ``n_inputs``, ``induction_inputs``, after an evaluation ``alignment_accuracy``); CSV: ``entropy``."""
    table = head_stat_table(state)
    layers, heads = table.shape
    arrays = {name: np.asarray(table.stats[name], dtype=np.float32) for name in STATISTICS}
    metadata = {"model": table.model_name, "kind": table.kind, "statistics_over": table.over}
    corpus = table.corpus
    if corpus is None:
        source, target = state.trace_inputs
        metadata.update(source=source, target=target or state.trace.output_text)
    else:
        counts = corpus.counts[table.kind]["induction"]
        arrays.update(n_inputs=np.array(corpus.n_inputs, dtype=np.int64),
                      induction_inputs=np.asarray(counts, dtype=np.int64))
        metadata.update(corpus=corpus.name, skipped_lines=len(corpus.problems))
        if ALIGNMENT in table.stats:
            from engine.head_alignment import best_head

            arrays.update(alignment_accuracy=np.asarray(corpus.alignment, dtype=np.float32),
                          best_alignment_head=np.array(best_head(corpus.alignment), dtype=np.int64),
                          aligned_words=np.array(corpus.aligned_words, dtype=np.int64))
    return DataTable(arrays["entropy"], [f"L{i}" for i in range(layers)], [f"H{j}" for j in range(heads)],
                     metadata, arrays, names=("layers", "heads"), corner="layer \\ head")


__all__ = ["ALIGNMENT", "TITLES", "HeadStatTable", "head_stat_data", "head_stat_table", "statistics_of",
           "value_text"]
