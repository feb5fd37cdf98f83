"""Figures to files: PNG (QImage), SVG (QSvgGenerator) and PDF (QPdfWriter).

pyqtgraph's SVGExporter is not used: it raises on PySide6 >= 6.11 (pyqtgraph #3485). Painting
the figure ourselves gives real ``<text>`` elements in the SVG and one vector page in the PDF.
Sizes are pixels at a DPI, so ``width / dpi`` inches is the physical size of every format.
Each format is rendered into memory first and then written atomically: a failed export never
leaves half a file behind.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize, QSizeF
from PySide6.QtGui import QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator

from ..export.data_files import write_atomically
from ..export.formats import format_of
from .painting import POINTS_PER_INCH

DEFAULT_DPI = 150
MAX_PIXELS = 16384  # a side; QImage and memory give up beyond this


def figure_size(figure, width: int | None = None, height: int | None = None,
                dpi: float = DEFAULT_DPI) -> tuple[int, int]:
    """Pixel size for a request: given sides are kept, a missing side keeps the natural aspect,
    and with neither the figure's natural size (in points) is converted at ``dpi``."""
    if dpi <= 0:
        raise ValueError(f"dpi must be positive, not {dpi}")
    natural = figure.natural_size()
    if width is None and height is None:
        width = round(natural.width() * dpi / POINTS_PER_INCH)
        height = round(natural.height() * dpi / POINTS_PER_INCH)
    elif height is None:
        height = round(width * natural.height() / natural.width())
    elif width is None:
        width = round(height * natural.width() / natural.height())
    for name, value in (("width", width), ("height", height)):
        if not 16 <= value <= MAX_PIXELS:
            raise ValueError(f"{name} must be between 16 and {MAX_PIXELS} pixels, not {value}")
    return int(width), int(height)


def _page_points(width: int, height: int, dpi: float) -> QSizeF:
    return QSizeF(width * POINTS_PER_INCH / dpi, height * POINTS_PER_INCH / dpi)


def render_image(figure, width: int, height: int, dpi: float = DEFAULT_DPI) -> QImage:
    """The figure as a ``width`` × ``height`` QImage that records ``dpi``."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(0xFFFFFFFF)
    # Paint at 72 dpi (1 unit = 1 point) scaled up, then record the real DPI in the file.
    image.setDotsPerMeterX(round(POINTS_PER_INCH / 0.0254))
    image.setDotsPerMeterY(round(POINTS_PER_INCH / 0.0254))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.scale(dpi / POINTS_PER_INCH, dpi / POINTS_PER_INCH)
    figure.paint(painter, _page_points(width, height, dpi))
    painter.end()
    image.setDotsPerMeterX(round(dpi / 0.0254))
    image.setDotsPerMeterY(round(dpi / 0.0254))
    return image


def png_bytes(figure, width: int, height: int, dpi: float = DEFAULT_DPI) -> bytes:
    return _encode_image(render_image(figure, width, height, dpi), "PNG")


def svg_bytes(figure, width: int, height: int, dpi: float = DEFAULT_DPI) -> bytes:
    """An SVG in points (its width and height carry the physical size)."""
    page = _page_points(width, height, dpi)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setResolution(round(POINTS_PER_INCH))
    generator.setSize(QSize(round(page.width()), round(page.height())))
    generator.setViewBox(QRectF(0, 0, page.width(), page.height()))
    generator.setTitle(getattr(figure, "title", "figure"))
    generator.setDescription("Exported by Transformer Inspector")
    _paint_vector(figure, generator, page)
    buffer.close()
    return bytes(data.data())


def pdf_bytes(figure, width: int, height: int, dpi: float = DEFAULT_DPI) -> bytes:
    """A one-page PDF whose page is exactly the figure."""
    page = _page_points(width, height, dpi)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(round(POINTS_PER_INCH))
    writer.setPageSize(QPageSize(page, QPageSize.Unit.Point, "figure",
                                 QPageSize.SizeMatchPolicy.ExactMatch))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    writer.setTitle(getattr(figure, "title", "figure"))
    writer.setCreator("Transformer Inspector")
    _paint_vector(figure, writer, page)
    del writer  # flushes the PDF trailer into the buffer
    buffer.close()
    return bytes(data.data())


def _paint_vector(figure, device, page: QSizeF) -> None:
    painter = QPainter()
    if not painter.begin(device):
        raise OSError("the vector paint device could not start")
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    figure.paint(painter, page, vector=True)
    painter.end()


def _encode_image(image: QImage, fmt: str) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, fmt):
        raise OSError(f"could not encode the image as {fmt}")
    buffer.close()
    return bytes(data.data())


RENDERERS = {"png": png_bytes, "svg": svg_bytes, "pdf": pdf_bytes}


def figure_format(path) -> str:
    """``png``, ``svg`` or ``pdf`` from a file name; ValueError names the path otherwise."""
    return format_of(path, "figure").suffix


def export_figure(figure, path, width: int | None = None, height: int | None = None,
                  dpi: float = DEFAULT_DPI) -> Path:
    """Save ``figure`` to ``path`` in the format its suffix names. Raises ValueError or OSError."""
    path = Path(path)
    fmt = figure_format(path)
    width, height = figure_size(figure, width, height, dpi)
    write_atomically(path, RENDERERS[fmt](figure, width, height, dpi))
    return path
