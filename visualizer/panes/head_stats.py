"""The head-statistics pane: what kind of pattern each head draws, for this input or a corpus."""

from __future__ import annotations

from ..state.head_stat_table import head_stat_data, head_stat_table
from .pane import KIND_ONLY, Pane


def _widget(state):
    from ..views.head_stats_view import HeadStatsView

    return HeadStatsView(state)


def _figure(state):
    from ..figures.head_stats_figure import HeadStatsFigure

    return HeadStatsFigure(head_stat_table(state), state.colormap)


def _file_what(state) -> str:
    corpus = "-corpus" if state.head_stats_corpus is not None else ""
    return f"{state.kind}-head-stats-{state.head_stat}{corpus}"


PANE = Pane("head-stats", "Head statistics", "headStatsPane",
            "Per head: entropy, max weight, weight on the first token, previous-token, diagonal, mean "
            "distance and induction scores, for this input or as a mean over a corpus (--inputs FILE); "
            "for a demo translator, alignment accuracy on generated sentences (--evaluate-heads N)",
            _widget, _figure, head_stat_data, _file_what, selectors=KIND_ONLY)
