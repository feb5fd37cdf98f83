"""TokenChips: the source and target tokens as coloured chips, painted by hand so a hover is cheap."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QScrollArea, QSizePolicy, QToolTip, QWidget

from engine.readable_tokens import at_position, readable_token

from ..state.app_state import AppState

SIDE_COLORS = {"source": "#dbe8f7", "target": "#f7e6d4"}  # the chip colour of each side's tokens
HOVER_COLOR = "#ffd54f"  # the hovered chip, whichever pane the hover came from
TEXT_COLOR = "#111111"
NO_TRACE = "Run the model to see its tokens."
MARGIN = 4
PAD_X, PAD_Y = 5, 2  # inside a chip, around its text
GAP_X, GAP_Y = 4, 4  # between chips
SECTION_GAP = 10  # above the second heading
RADIUS = 4.0


def chip_text(label: str) -> str:
    """A readable token (ViewState.token_labels) as its chip reads: never blank, line breaks seen."""
    return readable_token(label).replace("\n", "\\n").replace("\t", "\\t")


def chip_tooltip(side: str, position: int, label: str, piece: str, token_id: int | None) -> str:
    """'source "·caf" #4', and the tokenizer's own piece and id where they read otherwise:
    'source "·caf" #4 · "Ġcaf" (id 3412)'."""
    text = f"{side} {at_position(label, position)}"
    if piece != label:
        text += f' · "{piece}"' + ("" if token_id is None else f" (id {token_id})")
    return text


class ChipLayout:
    """Where every chip and heading goes at one width. Chips are in reading order, so ``tops`` is
    sorted and the chips in a band of rows are found by bisection."""

    def __init__(self, sections: list[tuple[str, list[str]]], width: int, normal: QFontMetrics,
                 bold: QFontMetrics, widths: dict[str, int]):
        self.headings: list[tuple[QRect, str]] = []
        self.chips: list[tuple[str, int, QRect, str]] = []  # (side, position, rect, text)
        self.tops: list[int] = []
        self.first: dict[str, int] = {}  # side -> index of its first chip in ``chips``
        chip_height = normal.height() + 2 * PAD_Y
        right = max(width - MARGIN, MARGIN + 2 * PAD_X + 1)
        y = MARGIN
        for number, (side, tokens) in enumerate(sections):
            if number:
                y += SECTION_GAP
            heading = f"{side.title()} ({len(tokens)})"
            heading_rect = QRect(MARGIN, y, bold.horizontalAdvance(heading) + 2, bold.height())
            self.headings.append((heading_rect, heading))
            y += bold.height() + GAP_Y
            self.first[side] = len(self.chips)
            x = MARGIN
            for position, token in enumerate(tokens):
                text = chip_text(token)
                chip_width = widths.get(text)
                if chip_width is None:  # measured once per distinct token, not once per chip
                    chip_width = widths[text] = normal.horizontalAdvance(text) + 2 * PAD_X
                if x > MARGIN and x + chip_width > right:  # wrap to the next row
                    x, y = MARGIN, y + chip_height + GAP_Y
                if chip_width > right - MARGIN:  # wider than the pane: cut, the tooltip has it whole
                    chip_width = right - MARGIN
                    text = normal.elidedText(text, Qt.TextElideMode.ElideRight, chip_width - 2 * PAD_X)
                self.chips.append((side, position, QRect(x, y, chip_width, chip_height), text))
                self.tops.append(y)
                x += chip_width + GAP_X
            y += chip_height
        self.height = y + MARGIN if sections else 0

    def index_of(self, side: str, position: int) -> int:
        """The index in ``chips`` of ``side``'s token at ``position``, or -1."""
        first = self.first.get(side)
        if first is None or position < 0:
            return -1
        index = first + position
        if index >= len(self.chips) or self.chips[index][0] != side:
            return -1
        return index

    def chips_between(self, top: int, bottom: int, chip_height: int) -> range:
        """Indices of the chips whose rows reach into the band ``top..bottom``."""
        return range(bisect_left(self.tops, top - chip_height + 1), bisect_right(self.tops, bottom))


class TokenChips(QWidget):
    """The trace's tokens, a wrapping row of chips per side under a bold heading.

    Laid out once per token list and width; a hover repaints only the chip it leaves and the one it
    reaches. Hovering a chip publishes it with ``state.set_hover``, so every pane shows that token;
    a token hovered in another pane is scrolled into view when it is out of sight.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("tokensView")
        self.state = state
        self.setMouseTracking(True)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)  # the enclosing scroll area asks how tall the chips are
        self.setSizePolicy(policy)
        self.font_bold = QFont(self.font())
        self.font_bold.setBold(True)
        self._sections: list[tuple[str, list[str]]] = []  # (side, readable tokens)
        self._pieces: dict[str, tuple[list[str], list[int]]] = {}  # side -> (own pieces, ids)
        self._widths: dict[str, int] = {}
        self._layouts: dict[int, ChipLayout] = {}  # width -> layout, for the current tokens
        self._has_trace = False
        self._hovered = -1  # index of the highlighted chip in the current layout
        self._mouse_inside = False
        self.painted_chips = 0  # how many chips the last paint drew (for tests)
        state.subscribe(self)  # each _on_x_changed below, to state.xChanged
        self._on_trace_changed(state.trace)

    # ---- state handlers -------------------------------------------------------------------
    def _on_trace_changed(self, trace) -> None:
        sides = [] if trace is None else [side for side in ("source", "target") if trace.tokens(side)]
        sections = [(side, self.state.token_labels(side)) for side in sides]
        self._pieces = {side: (trace.tokens(side), getattr(trace, f"{side}_ids")) for side in sides}
        self._has_trace = trace is not None
        self._sections, self._layouts, self._widths = sections, {}, {}
        self._hovered = self.layout_now().index_of(*self.state.hover)
        self.updateGeometry()  # a new height for the scroll area
        self.update()

    def _on_hover_changed(self, side: str, position: int) -> None:
        layout = self.layout_now()
        index = layout.index_of(side, position)
        if index == self._hovered:
            return
        for old_or_new in (self._hovered, index):
            if old_or_new >= 0:
                self.update(layout.chips[old_or_new][2].adjusted(-1, -1, 1, 1))
        self._hovered = index
        scroll = self._scroll_area()
        if index >= 0 and not self._mouse_inside and scroll is not None:
            # Hovered in another pane: bring the chip into sight, but never move one already seen.
            rect = layout.chips[index][2]
            scroll.ensureVisible(rect.center().x(), rect.center().y(), rect.width() // 2 + GAP_X,
                                 rect.height() // 2 + GAP_Y)

    # ---- public ---------------------------------------------------------------------------
    def layout_now(self) -> ChipLayout:
        return self.layout_for(self.width())

    def layout_for(self, width: int) -> ChipLayout:
        layout = self._layouts.get(width)
        if layout is None:
            if len(self._layouts) > 4:  # widths the scroll area tried once are not kept
                self._layouts = {w: lay for w, lay in self._layouts.items() if w == self.width()}
            layout = self._layouts[width] = ChipLayout(self._sections, width, self.fontMetrics(),
                                                        QFontMetrics(self.font_bold), self._widths)
        return layout

    def chip_at(self, point: QPoint) -> tuple[str, int] | None:
        """(side, position) of the chip under a widget point, or None."""
        layout = self.layout_now()
        for index in layout.chips_between(point.y(), point.y(), self._chip_height()):
            side, position, rect, _text = layout.chips[index]
            if rect.contains(point):
                return side, position
        return None

    def chip_rect(self, side: str, position: int) -> QRect:
        """Where the chip of ``side``'s token at ``position`` is drawn (an empty rect if none)."""
        layout = self.layout_now()
        index = layout.index_of(side, position)
        return QRect(layout.chips[index][2]) if index >= 0 else QRect()

    def tooltip_at(self, point: QPoint) -> str:
        hit = self.chip_at(point)
        if hit is None:
            return ""
        side, position = hit
        pieces, ids = self._pieces[side]
        return chip_tooltip(side, position, dict(self._sections)[side][position], pieces[position],
                            ids[position] if position < len(ids) else None)

    # ---- Qt overrides ---------------------------------------------------------------------
    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        if not self._sections:
            return self.fontMetrics().height() + 2 * MARGIN
        return self.layout_for(width).height

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        width = max(self.width(), 200)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(50, self.fontMetrics().height() + 2 * MARGIN)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # rewrapped: another height

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setPen(QColor(TEXT_COLOR))
        if not self._sections:
            font = QFont(self.font())
            font.setItalic(True)
            painter.setFont(font)
            painter.drawText(self.rect().adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             NO_TRACE if not self._has_trace else "none")
            self.painted_chips = 0
            painter.end()
            return
        layout = self.layout_now()
        painter.setFont(self.font_bold)
        for rect, heading in layout.headings:
            if event.region().intersects(rect):
                painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, heading)
        painter.setFont(self.font())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        chip_height, painted = self._chip_height(), set()
        for exposed in event.region():  # two far-apart chips are two small rects, not one big one
            for index in layout.chips_between(exposed.top(), exposed.bottom(), chip_height):
                side, _position, rect, text = layout.chips[index]
                if index in painted or not rect.intersects(exposed):
                    continue
                painted.add(index)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(HOVER_COLOR if index == self._hovered else SIDE_COLORS[side]))
                painter.drawRoundedRect(QRectF(rect), RADIUS, RADIUS)
                painter.setPen(QColor(TEXT_COLOR))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        self.painted_chips = len(painted)
        painter.end()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._mouse_inside = True
        hit = self.chip_at(event.position().toPoint())
        self.state.set_hover(*(hit or ("", -1)))  # between chips is on no token

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._mouse_inside = False
        if self.state.hover[1] >= 0:
            self.state.set_hover("", -1)
        super().leaveEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            hit = self.chip_at(event.pos())
            if hit is not None:  # shown while the mouse stays on this chip
                QToolTip.showText(event.globalPos(), self.tooltip_at(event.pos()), self, self.chip_rect(*hit))
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def _chip_height(self) -> int:
        return self.fontMetrics().height() + 2 * PAD_Y

    def _scroll_area(self) -> QScrollArea | None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        return parent
