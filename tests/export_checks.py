"""Content checks for exported files, shared by the GUI and CLI export tests.

Each check reads the file the way a user's tool would (QImage, an XML parser, numpy, csv) and
compares it with the numbers of the trace.
"""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET

import numpy as np


def pixel_rgb(image, x: float, y: float) -> tuple[int, int, int]:
    color = image.pixelColor(int(x), int(y))
    return color.red(), color.green(), color.blue()


def sample_cells(matrix: np.ndarray, masked: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Corners, the centre, and the largest and smallest values: cells whose colours differ.

    With a mask, also a masked cell and the smallest weight no mask hides.
    """
    rows, cols = matrix.shape
    high = np.unravel_index(np.argmax(matrix), matrix.shape)
    low = np.unravel_index(np.argmin(matrix), matrix.shape)
    cells = [(0, 0), (rows - 1, cols - 1), (rows // 2, cols // 2), tuple(map(int, high)),
             tuple(map(int, low))]
    if masked is not None and masked.any():
        cells.append(tuple(map(int, np.argwhere(masked)[0])))
        if not masked.all():
            low_weight = np.unravel_index(np.argmin(np.where(masked, np.inf, matrix)), matrix.shape)
            cells.append(tuple(map(int, low_weight)))
    return list(dict.fromkeys(cells))


def assert_heatmap_png(path, figure, width: int, height: int, dpi: float) -> None:
    """The PNG has the requested size and DPI, and sampled cells show the colormap of the
    matrix values (so a blank, shifted or transposed image fails); masked cells show the grey."""
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QImage

    from visualizer.figures.colors import colors_of

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not an image"
    assert (image.width(), image.height()) == (width, height)
    assert abs(image.dotsPerMeterX() * 0.0254 - dpi) < 1
    selection = figure.selection
    matrix = selection.matrix
    levels = getattr(figure, "levels", selection.levels)  # the figure's levels skip masked cells
    expected = colors_of(matrix, levels, selection.colormap, selection.masked)
    rect = figure.layout(QSizeF(width * 72 / dpi, height * 72 / dpi)).heatmap
    scale = dpi / 72
    rows, cols = matrix.shape
    cells = sample_cells(matrix, selection.masked)
    assert len({tuple(expected[r, c]) for r, c in cells}) > 1, "pick values with different colours"
    for r, c in cells:
        x = (rect.left() + (c + 0.5) * rect.width() / cols) * scale
        y = (rect.top() + (r + 0.5) * rect.height() / rows) * scale
        assert pixel_rgb(image, x, y) == tuple(int(v) for v in expected[r, c]), (r, c)


def svg_texts(path) -> list[str]:
    """Every <text> element's string in an SVG file (which must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return ["".join(element.itertext()) for element in root.iter() if element.tag.endswith("text")]


def assert_pdf(path, title: str | None = None, page_points: tuple[float, float] | None = None) -> None:
    """A valid PDF header and trailer, exactly one page, and optionally its title and size."""
    data = open(path, "rb").read()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 1, "exactly one page"
    assert b"%%EOF" in data[-64:]
    assert re.search(rb"/Subtype\s*/Image", data), "the heatmap image is on the page"
    assert b"/FontFile" in data, "the labels are drawn as text with an embedded font"
    if title is not None:  # Qt writes the document title as a UTF-16BE string, \ ( ) escaped
        encoded = title.encode("utf-16-be")
        escaped = encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        assert escaped in data
    if page_points is not None:
        box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", data)
        assert box is not None
        assert abs(float(box[1]) - page_points[0]) <= 1 and abs(float(box[2]) - page_points[1]) <= 1


def assert_npz_matches(path, matrix, query_tokens, key_tokens, **metadata) -> None:
    with np.load(path, allow_pickle=False) as data:
        assert data["matrix"].dtype == np.float32
        np.testing.assert_allclose(data["matrix"], matrix, rtol=1e-6, atol=1e-7)
        assert data["query_tokens"].tolist() == list(query_tokens)
        assert data["key_tokens"].tolist() == list(key_tokens)
        stored = json.loads(str(data["metadata"]))
        for name, value in metadata.items():
            assert stored[name] == value, name
            assert str(data[name]) == str(value), name


def assert_csv_matches(path, matrix, query_tokens, key_tokens) -> None:
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][1:] == list(key_tokens)
    assert [row[0] for row in rows[1:]] == list(query_tokens)
    values = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float32)
    np.testing.assert_array_equal(values, np.asarray(matrix, dtype=np.float32))


def selection_of(model, trace, kind, layer, head, **options):
    """The AttentionSelection the app builds for a trace, selection and view options."""
    from visualizer.state.selection import attention_selection
    from visualizer.state.view_state import ViewState

    state = ViewState()
    state.set_model(model)
    state.set_trace(trace)
    state.set_selection(kind=kind, layer=layer, head=head)
    state.set_option(**options)
    return attention_selection(state)


def assert_compare_png(path, figure, width: int, dpi: float) -> None:
    """Each of the compare figure's three panels (A, B, B − A) shows its own matrix in its own
    colours at sampled cells: a blank, swapped or unshifted panel fails."""
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QImage

    from visualizer.figures.colors import colors_of

    image = QImage(str(path))
    assert not image.isNull() and image.width() == width
    scale = dpi / 72
    page = QSizeF(image.width() / scale, image.height() / scale)
    for panel, box in zip(figure.panels, figure.panel_rects(page), strict=True):
        selection = panel.selection
        expected = colors_of(selection.matrix, panel.levels, selection.colormap, selection.masked)
        rect = panel.layout(box.size()).heatmap.translated(box.topLeft())
        rows, cols = selection.matrix.shape
        cells = sample_cells(selection.matrix, selection.masked)
        assert len({tuple(expected[r, c]) for r, c in cells}) > 1, "pick values with different colours"
        for r, c in cells:
            x = (rect.left() + (c + 0.5) * rect.width() / cols) * scale
            y = (rect.top() + (r + 0.5) * rect.height() / rows) * scale
            assert pixel_rgb(image, x, y) == tuple(int(v) for v in expected[r, c]), (selection.title, r, c)
