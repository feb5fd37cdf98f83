"""The head-lines pane: BertViz-style lines from query tokens to key tokens, opacity = weight."""

from __future__ import annotations

from dataclasses import replace

from engine.kinds import kind_title

from ..export.data_files import selection_table
from ..state.line_selection import line_colors, line_matrices, select_lines
from ..state.selection import attention_selection
from .pane import Pane, selection_what


def _widget(state):
    from ..views.head_line_view import HeadLineView

    return HeadLineView(state)


def _figure(state):
    from ..figures import LinesFigure

    selection = attention_selection(state)
    lines = select_lines(line_matrices(state))
    if state.lines_all_heads:
        title = f"{selection.model} — {kind_title(selection.kind)}, layer {selection.layer}, all heads"
        selection = replace(selection, title_text=title)
    return LinesFigure(selection, lines, line_colors(lines))


def _data(state):
    return selection_table(attention_selection(state))


PANE = Pane("head-lines", "Head lines", "headLinesPane",
            "Lines from each query token to the keys it attends to; hover a token to isolate it",
            _widget, _figure, _data, lambda state: selection_what(state) + "-lines")
