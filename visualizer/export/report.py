"""The report: one multi-page PDF of the current input, each page titled (model, input, what it shows).

Pages: the contents, every attention kind's all-heads grid, the selected head, the logit lens
(when the model has an output head and the logit-lens pane is registered) and each kind's head
statistics. Each page draws the registered pane's own figure from a ViewState like the window's,
so a page equals what File → Export plot writes for that pane. Whatever is left out is named on
the contents page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

from engine.head_stats import SELF_ONLY, STATISTICS
from engine.kinds import head_title, kind_title

from ..figures.painting import POINTS_PER_INCH, Fonts, draw_text, draw_title, line_height
from ..state.view_state import OPTIONS, ViewState
from .data_files import write_atomically

PAGE = QSizeF(842.0, 595.0)  # A4 landscape, in points
MARGIN = 28.0
HEADER = 34.0  # points under the top margin for the page title: what it shows, then model · input


@dataclass(frozen=True)
class ReportPage:
    subject: str  # "model · “input”"
    what: str  # what the page shows
    figure: object | None  # None for the contents page

    @property
    def title(self) -> str:
        return f"{self.subject} · {self.what}"


@dataclass(frozen=True)
class Report:
    pages: list[ReportPage]
    notes: list[str]  # what was left out, and why

    @property
    def titles(self) -> list[str]:
        return [page.title for page in self.pages]


def input_text(state) -> str:
    """The run's input as the titles quote it: “source” → “target” (decoded or given)."""
    source, target = state.trace_inputs
    target = target or getattr(state.trace, "output_text", "")
    return f"“{source}” → “{target}”" if target else f"“{source}”"


def state_for(state, kind: str | None = None, **options) -> ViewState:
    """A copy of ``state`` (model, trace, selection, options) on ``kind``, with ``options`` set."""
    copy = ViewState()
    copy.model, copy.source_text, copy.target_text = state.model, state.source_text, state.target_text
    copy.set_trace(state.trace, state.trace_inputs)
    copy.ablated = state.ablated
    copy.set_option(**{**{name: getattr(state, name) for name in OPTIONS}, **options})
    copy.set_selection(kind=kind or state.kind, layer=state.layer, head=state.head)
    return copy


def build_report(state) -> Report:
    """The pages of the state's trace; ValueError when there is no trace."""
    from ..panes import PANES

    if state.trace is None or state.model is None:
        raise ValueError("nothing to report yet: run a sentence first")
    panes = {pane.name: pane for pane in PANES}
    subject = f"{state.model_name()} · {input_text(state)}"

    def page(what: str, figure) -> ReportPage:
        return ReportPage(subject, what, figure)

    pages, notes = [], []
    kinds = list(state.trace.attention)
    for kind in kinds:
        grid = panes["all-heads"].figure(state_for(state, kind))
        pages.append(page(f"all heads of {kind_title(kind)}", grid))
    selected = f"{kind_title(state.kind)}, layer {state.layer}, {head_title(state.head)}"
    pages.append(page(f"selected head: {selected}", panes["attention"].figure(state_for(state))))
    lens = panes.get("logit-lens")
    if lens is None:
        notes.append("No logit-lens page: this build has no logit-lens pane.")
    elif not lens.applies_to(state.model):
        notes.append("No logit-lens page: this model has no output head to read the layers through.")
    else:
        try:
            pages.append(page("logit lens: each layer's top token", lens.figure(state_for(state))))
        except ValueError as error:
            notes.append(f"No logit-lens page: {error}")
    stats = panes.get("head-stats")
    if stats is None or "head_stat" not in OPTIONS:
        notes.append("No head-statistics pages: this build has no head-statistics pane.")
    else:
        from ..figures.tiled_figure import TiledFigure

        for kind in kinds:
            names = [s for s in STATISTICS if kind != "cross" or s not in SELF_ONLY]
            tiles = [_without_model(stats.figure(state_for(state, kind, head_stat=name)), state)
                     for name in names]
            pages.append(page(f"head statistics of {kind_title(kind)}", TiledFigure(tiles, 3)))
    contents = page("contents", None)
    return Report([contents, *pages], notes)


def _without_model(figure, state):
    """A tile's heading without the model's name, which the page title already gives: seven
    tiles share a page, and full headings would be cut."""
    heading = getattr(figure, "heading", None)
    if isinstance(heading, str):
        figure.heading = heading.removeprefix(f"{state.model_name()} — ")
    return figure


def report_pdf(report: Report) -> bytes:
    """The report as PDF bytes, one A4 landscape page per ``ReportPage``."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(round(POINTS_PER_INCH))  # 1 unit = 1 point, as every figure paints
    writer.setPageLayout(QPageLayout(QPageSize(PAGE, QPageSize.Unit.Point, "report",
                                               QPageSize.SizeMatchPolicy.ExactMatch),
                                     QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    writer.setTitle(f"{report.pages[0].subject} · report")
    writer.setCreator("Transformer Inspector")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("the PDF writer could not start")
    for number, page in enumerate(report.pages):
        if number:
            writer.newPage()
        _paint_page(painter, report, page)
    painter.end()
    del writer  # flushes the trailer into the buffer
    buffer.close()
    return bytes(data.data())


def write_report(state, path) -> Report:
    """Write the report of ``state`` to ``path`` (atomically). ValueError or OSError name the problem."""
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        raise ValueError(f"{path}: a report is a PDF file; use .pdf")
    report = build_report(state)
    write_atomically(path, report_pdf(report))
    return report


def _paint_page(painter: QPainter, report: Report, page: ReportPage) -> None:
    fonts = Fonts()
    width = PAGE.width() - 2 * MARGIN
    draw_title(painter, QRectF(MARGIN, MARGIN / 2, width, HEADER * 0.55), page.what, fonts)
    draw_text(painter, QRectF(MARGIN, MARGIN / 2 + HEADER * 0.55, width, HEADER * 0.45), page.subject,
              fonts.label)
    area = QRectF(MARGIN, MARGIN / 2 + HEADER + 6, PAGE.width() - 2 * MARGIN,
                  PAGE.height() - MARGIN / 2 - HEADER - 6 - MARGIN)
    if page.figure is None:
        _paint_contents(painter, area, report, fonts)
        return
    painter.save()
    painter.translate(area.topLeft())
    page.figure.paint(painter, area.size(), True)
    painter.restore()


def _paint_contents(painter: QPainter, area: QRectF, report: Report, fonts: Fonts) -> None:
    lines = [f"{number}. {page.what}"
             for number, page in enumerate(report.pages[1:], start=2)]
    lines += ["", *report.notes] if report.notes else []
    step = line_height(fonts.label) * 1.5
    for row, text in enumerate(lines):
        draw_text(painter, QRectF(area.left(), area.top() + row * step, area.width(), step), text,
                  fonts.label, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
