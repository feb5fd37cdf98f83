"""HeadLineView: BertViz-style lines from each query token to each key token, opacity = weight."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from engine.kinds import KINDS, head_title
from engine.readable_tokens import at_position

from ..state.app_state import AppState
from ..state.line_selection import MAX_LINES, MIN_WEIGHT, head_color, line_matrices, select_lines
from . import look
from .lean_layer_reader import LeanLayerReader
from .offstage import offstage
from .token_axis import shorten

__all__ = ["MIN_WEIGHT", "HeadLineView"]
ANTIALIAS_LINES = 1500  # smooth lines cost ~10x: only for the few lines of short inputs
ALPHA_STEPS = 32  # lines are batched by quantized opacity: one pen change per batch
ROW_HEIGHT = 20
COLUMN_WIDTH = 140
MARGIN = 10
TOP = MARGIN + ROW_HEIGHT + 4  # the first token row starts below the column headings
MAX_LINE_SPAN = 480
NO_TRACE = "Run a sentence to see its attention lines."


def side_of(kind: str, column: str) -> str:
    """Whose tokens a column lists: "source" (encoder positions) or "target" (decoder positions)."""
    return KINDS[kind].queries if column == "query" else KINDS[kind].keys


class HeadLineCanvas(QWidget):
    """Paints the two token columns and the weighted lines; all hit-testing lives here."""

    def __init__(self, view: HeadLineView):
        super().__init__(view)
        self.view = view
        self.setMouseTracking(True)
        self.font_normal = QFont(self.font())
        self.font_bold = QFont(self.font())
        self.font_bold.setBold(True)

    def column_rects(self) -> tuple[QRectF, QRectF]:
        # Centred, and the lines at most MAX_LINE_SPAN long: on a wide window, very long,
        # nearly flat lines make it hard to tell which key a line reaches.
        span = min(self.width() - 2 * MARGIN - 2 * COLUMN_WIDTH, MAX_LINE_SPAN)
        left_x = (self.width() - span) / 2 - COLUMN_WIDTH
        left = QRectF(left_x, MARGIN, COLUMN_WIDTH, self.height())
        right = QRectF(left_x + COLUMN_WIDTH + span, MARGIN, COLUMN_WIDTH, self.height())
        return left, right

    def row_y(self, index) -> np.ndarray:
        return TOP + (np.asarray(index) + 0.5) * ROW_HEIGHT

    def token_at(self, x: float, y: float) -> tuple[str, int] | None:
        """("query" | "key", position) of the token label under a widget point."""
        left, right = self.column_rects()
        row = int((y - TOP) // ROW_HEIGHT)
        for column, rect, count in (("query", left, len(self.view.query_tokens)),
                                    ("key", right, len(self.view.key_tokens))):
            if rect.left() <= x <= rect.right() and 0 <= row < count and y >= TOP:
                return column, row
        return None

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(look.BACKGROUND_COLOR))  # light, whatever the system theme
        self._paint_lines(painter, event.rect())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_tokens(painter, event.rect())
        painter.end()

    def _paint_lines(self, painter: QPainter, exposed: QRectF) -> None:
        lines = self.view.visible_lines()
        if not len(lines):
            return
        smooth = len(lines) <= ANTIALIAS_LINES
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, smooth)
        left, right = self.column_rects()
        x1, x2 = left.right() + 6, right.left() - 6
        y1, y2 = self.row_y(lines["query"]), self.row_y(lines["key"])
        inside = (np.minimum(y1, y2) <= exposed.bottom()) & (np.maximum(y1, y2) >= exposed.top())
        steps = np.clip(np.ceil(lines["weight"] * ALPHA_STEPS), 1, ALPHA_STEPS).astype(int)
        for head in np.unique(lines["head"]):
            base = QColor(self.view.color_of(int(head)))
            for step in np.unique(steps[(lines["head"] == head) & inside]):
                chosen = (lines["head"] == head) & inside & (steps == step)
                color = QColor(base)
                color.setAlphaF(step / ALPHA_STEPS)
                painter.setPen(QPen(color, 2 if smooth else 1))
                painter.drawLines([QLineF(x1, a, x2, b) for a, b in zip(y1[chosen], y2[chosen], strict=True)])

    def _paint_tokens(self, painter: QPainter, exposed: QRectF) -> None:
        left, right = self.column_rects()
        hover_column, hover_row = self.view.isolated
        first = max(0, int((exposed.top() - TOP) // ROW_HEIGHT))  # paint only the rows in view
        last = int((exposed.bottom() - TOP) // ROW_HEIGHT) + 1
        painter.setPen(QColor(look.TEXT_COLOR))
        kind = self.view.state.kind
        painter.setFont(self.font_bold)
        for rect, title, align in ((left, f"queries ({KINDS[kind].queries})", Qt.AlignmentFlag.AlignRight),
                                   (right, f"keys ({KINDS[kind].keys})", Qt.AlignmentFlag.AlignLeft)):
            painter.drawText(QRectF(rect.left(), MARGIN, rect.width(), ROW_HEIGHT).adjusted(4, 0, -4, 0),
                             align | Qt.AlignmentFlag.AlignVCenter, title)
        for column, rect, tokens, align in (
                ("query", left, self.view.query_tokens, Qt.AlignmentFlag.AlignRight),
                ("key", right, self.view.key_tokens, Qt.AlignmentFlag.AlignLeft)):
            for row, token in enumerate(tokens[first:last], start=first):
                cell = QRectF(rect.left(), TOP + row * ROW_HEIGHT, rect.width(), ROW_HEIGHT)
                hovered = column == hover_column and row == hover_row
                if hovered:
                    painter.fillRect(cell, QColor(*look.HOVER_COLOR, 90))
                painter.setFont(self.font_bold if hovered else self.font_normal)
                painter.drawText(cell.adjusted(4, 0, -4, 0), align | Qt.AlignmentFlag.AlignVCenter,
                                 shorten(token))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        hit = self.token_at(event.position().x(), event.position().y())
        self.view.hover_token(hit)
        self.setToolTip("" if hit is None else f"{hit[0]} {at_position(self._token(hit), hit[1])}")

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.view.hover_token(None)
        super().leaveEvent(event)

    def _token(self, hit) -> str:
        column, row = hit
        return (self.view.query_tokens if column == "query" else self.view.key_tokens)[row]


class HeadLineView(QWidget):
    """Query tokens on the left, key tokens on the right, a line per weight for the selected layer.

    Shows the selected head (or the mean/max of heads), or every head of the layer in its own
    color. Hovering a token, here or in another pane, isolates the lines of that token. A lean
    trace's layer is read off the GUI thread ("computing layer N…"), then drawn.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("headLineView")
        self.state = state
        self.query_tokens: list[str] = []  # the readable labels shown (ViewState.query_labels)
        self.key_tokens: list[str] = []
        self.matrices: dict[int, np.ndarray] = {}  # head -> [queries, keys]; -1 is the mean/max
        self.isolated: tuple[str, int] = ("", -1)  # ("query" | "key", position) whose lines show
        self._mouse_column = ""  # the column under this view's own mouse, if any
        self.max_lines = MAX_LINES
        self._lines: np.ndarray | None = None  # visible_lines() until the data or the hover changes
        self._stale = False  # something changed while offstage: redraw when shown

        self.all_heads = QCheckBox("Every head of the layer, one color each",
                                   objectName="lineAllHeadsCheck")
        self.all_heads.toggled.connect(lambda on: state.set_option(lines_all_heads=on))
        self.caption = QLabel(look.placeholder(state, NO_TRACE), wordWrap=True)  # never widens the window
        header = QHBoxLayout()
        header.addWidget(self.caption, 1)
        header.addWidget(self.all_heads)
        self.canvas = HeadLineCanvas(self)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.canvas)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.scroll, 1)

        self.layer_reader = LeanLayerReader(self)
        self.layer_reader.loaded.connect(self._redraw)
        self.layer_reader.failed.connect(lambda message: self.caption.setText(
            f"Could not compute the layer: {message}"))
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self._redraw()

    # ---- state handlers ------------------------------------------------------
    def _on_trace_changed(self, trace) -> None:
        self._redraw()

    def _on_selection_changed(self) -> None:
        self._redraw()

    def _on_options_changed(self) -> None:
        self.all_heads.blockSignals(True)
        self.all_heads.setChecked(self.state.lines_all_heads)
        self.all_heads.blockSignals(False)
        self._redraw()  # row labels may switch to predicted tokens, or every head show

    def _on_loading_changed(self, _name: str) -> None:
        self._redraw()

    def _on_hover_changed(self, side: str, position: int) -> None:
        if self._put_off():
            return
        kind = self.state.kind
        columns = [c for c in ("query", "key") if side_of(kind, c) == side]
        if position < 0 or not columns:
            self.isolated = ("", -1)
        else:
            # Our own mouse knows its column; a hover from elsewhere isolates the query first.
            column = self._mouse_column if self._mouse_column in columns else columns[0]
            count = len(self.query_tokens if column == "query" else self.key_tokens)
            self.isolated = (column, position) if position < count else ("", -1)
        self._lines = None
        self.canvas.update()
        if self.isolated[1] >= 0 and not self._mouse_column:
            # Hovered in another pane: scroll that token into view, or the user sees nothing change.
            y = int(self.canvas.row_y(self.isolated[1]))
            self.scroll.ensureVisible(self.canvas.width() // 2, y, 0, 2 * ROW_HEIGHT)

    # ---- public --------------------------------------------------------------
    def color_of(self, head: int) -> str:
        return head_color(head)

    def visible_lines(self) -> np.ndarray:
        """The lines to draw: a structured array of (head, query, key, weight).

        Weights below MIN_WEIGHT are skipped, and of the rest only the ``max_lines`` strongest kept.
        """
        if self._lines is None:
            self._lines = self._select_lines()
        return self._lines

    def _select_lines(self) -> np.ndarray:
        return select_lines(self.matrices, self.isolated, self.max_lines)

    def hover_token(self, hit: tuple[str, int] | None) -> None:
        """Called by the canvas: publish the token under the mouse to every pane."""
        if hit is None:
            self._mouse_column = ""
            if self.state.hover[1] >= 0:
                self.state.set_hover(self.state.hover[0], -1)
            return
        column, row = hit
        self._mouse_column = column
        self.state.set_hover(side_of(self.state.kind, column), row)
        self._on_hover_changed(*self.state.hover)  # same side and row, other column: re-isolate

    # ---- drawing ---------------------------------------------------------------
    def _put_off(self) -> bool:
        """Behind another tab: remember to redraw when shown, and do nothing now."""
        self._stale = self._stale or offstage(self)
        return self._stale

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self._redraw()

    def _redraw(self, *_args) -> None:
        if self._put_off():
            return
        state = self.state
        if state.trace is not None and not self.layer_reader.ready(state.trace, state.kind, state.layer):
            self.caption.setText(f"computing layer {state.layer}…")
            return
        self.query_tokens, self.key_tokens = state.query_labels(), state.key_labels()
        self.matrices = line_matrices(state)
        title = KINDS[state.kind].title if state.kind in KINDS else state.kind
        if not self.matrices:
            self.caption.setText(look.placeholder(state, NO_TRACE) if state.trace is None
                                 else f"This model has no {state.kind} attention.")
        elif state.lines_all_heads:
            self.caption.setText(f"{title}, layer {state.layer}, all {len(self.matrices)} heads "
                                 "(one color each). Queries left, keys right; hover a token.")
        else:
            self.caption.setText(f"{title}, layer {state.layer}, {head_title(state.head)}. Queries "
                                 "left, keys right; line opacity is the weight. Hover a token to isolate it.")
        rows = max(len(self.query_tokens), len(self.key_tokens))
        self.canvas.setMinimumSize(2 * COLUMN_WIDTH + 2 * MARGIN + 160, TOP + rows * ROW_HEIGHT + MARGIN)
        self._on_hover_changed(*state.hover)
