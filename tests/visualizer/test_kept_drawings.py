"""Switching back to a kind, layer or head shows the kept colouring and axes, and what it shows is
pixel for pixel what drawing that selection directly shows, in pyqtgraph's own colours."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QApplication

from tests.visualizer.shown_view import show_view
from visualizer.views import look
from visualizer.views.attention_view import AttentionView
from visualizer.views.weights_image import WeightsImage

SIZE = (700, 600)


def pixels(image: QImage) -> np.ndarray:
    """The ``[rows, columns]`` 0xAARRGGBB pixels of ``image`` (as 32-bit ARGB)."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    rows = [np.frombuffer(image.constScanLine(y), dtype=np.uint32, count=image.width())
            for y in range(image.height())]
    return np.array(rows)


def screen(view) -> np.ndarray:
    """The heatmap as the next frame shows it (after the layout the change asked for)."""
    QApplication.processEvents()
    return pixels(view.plot_widget.grab().toImage())


def pyqtgraph_colouring(matrix, levels, lut) -> QImage:
    """What pyqtgraph's own ImageItem makes of ``matrix`` (what the heatmap drew before)."""
    item = pg.ImageItem(axisOrder="row-major")
    item.setImage(matrix, levels=levels, lut=lut, autoLevels=False)
    item.render()
    return item.qimage


def scaled(image: QImage, width: int, height: int) -> np.ndarray:
    """``image`` drawn as the heatmap draws it: stretched over the plot, rows flipped (query 0 on
    top). Qt rounds some cell edges to the neighbouring pixel for RGB32 images, not for these."""
    target = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    target.fill(0xFFFFFFFF)
    painter = QPainter(target)
    transform = QTransform()
    transform.translate(0, height)
    transform.scale(width / image.width(), -height / image.height())
    painter.setTransform(transform)
    painter.drawImage(QRectF(0, 0, image.width(), image.height()), image)
    painter.end()
    return pixels(target)


@pytest.fixture
def shown(qtbot, tiny_run):
    state, view = show_view(qtbot, tiny_run, AttentionView, SIZE)
    state.set_selection(kind="decoder", layer=1, head=2)
    return state, view


def test_switching_back_to_a_kind_repaints_the_same_pixels_without_colouring_again(shown, qtbot, tiny_run):
    state, view = shown
    direct = screen(view)
    colourings, left_picture = view.image_item.colourings, view.left_axis.picture
    for kind in ("cross", "encoder", "decoder"):
        state.set_selection(kind=kind)
        screen(view)
    assert view.image_item.colourings == colourings + 2  # cross and encoder; decoder was kept
    assert view.left_axis.picture is left_picture  # the target tokens' axis, as drawn before
    np.testing.assert_array_equal(screen(view), direct)
    view.left_axis.setTextPen("r")  # another look: drawn afresh, never the kept picture
    assert not np.array_equal(screen(view), direct) and view.left_axis.picture is not left_picture
    view.left_axis.setTextPen(look.TEXT_COLOR)
    # A fresh heatmap drawing the decoder at once shows the same pixels.
    _state, fresh = show_view(qtbot, tiny_run, AttentionView, SIZE)
    fresh.state.set_selection(kind="decoder", layer=1, head=2)
    np.testing.assert_array_equal(screen(fresh), direct)


def test_the_colours_are_pyqtgraphs_own_and_qt_draws_them_as_it_drew_its_image(shown):
    state, view = shown
    for kind in ("encoder", "decoder"):
        state.set_selection(kind=kind)
        screen(view)
    item, matrix = view.image_item, state.attention_matrix()
    np.testing.assert_array_equal(item.image, matrix)  # the exact weights
    assert tuple(item.levels) == (0.0, 1.0)
    reference = pyqtgraph_colouring(matrix, item.levels, item.lut)
    assert reference.format() == QImage.Format.Format_Indexed8  # what Qt used to convert per paint
    assert item.qimage.format() == QImage.Format.Format_ARGB32
    np.testing.assert_array_equal(pixels(item.qimage), pixels(reference))
    for width, height in ((333, 271), (500, 420), (41, 997)):  # edges on pixel centres, shrunk, both
        np.testing.assert_array_equal(scaled(item.qimage, width, height), scaled(reference, width, height))


def test_a_grey_overlay_is_drawn_from_argb_with_the_pixels_of_its_indexed_image():
    masked = np.triu(np.ones((7, 9), dtype=bool), 1)
    overlay = look.mask_overlay()
    look.set_mask_image(overlay, masked)
    overlay.render()
    reference = pg.ImageItem(axisOrder="row-major")
    reference.setImage(masked.view(np.uint8), lut=look.MASK_LUT, levels=(0, 1), autoLevels=False)
    reference.render()
    assert overlay.qimage.format() == QImage.Format.Format_ARGB32
    assert reference.qimage.format() == QImage.Format.Format_Indexed8
    shown = pixels(overlay.qimage)
    assert (shown[masked] == 0xFF000000 | int.from_bytes(bytes(look.MASKED_COLOR), "big")).all()
    assert (shown[~masked] >> 24 == 0).all()  # transparent: the weights show through
    for width, height in ((333, 271), (41, 997)):
        np.testing.assert_array_equal(scaled(overlay.qimage, width, height),
                                      scaled(reference.qimage, width, height))


def test_auto_levels_and_a_new_colormap_are_never_served_a_kept_colouring(shown):
    state, view = shown
    view.auto_levels_box.setChecked(True)
    for kind in ("cross", "decoder"):
        state.set_selection(kind=kind)
        screen(view)
    item, weights = view.image_item, state.attention_matrix()
    unmasked = weights[~state.masked_cells()]
    np.testing.assert_allclose(item.levels, (unmasked.min(), unmasked.max()), rtol=1e-6)
    expected = pyqtgraph_colouring(weights, item.levels, item.lut)
    np.testing.assert_array_equal(pixels(item.qimage), pixels(expected))
    view.auto_levels_box.setChecked(False)
    view.colormap_selector.setCurrentText("magma")
    screen(view)
    magma = pg.colormap.get("magma").getLookupTable(nPts=256)
    expected = pyqtgraph_colouring(weights, (0.0, 1.0), magma)
    np.testing.assert_array_equal(pixels(item.qimage), pixels(expected))


def test_only_frozen_matrices_are_kept_and_within_the_budget():
    lut = pg.colormap.get("viridis").getLookupTable(nPts=256)
    rng = np.random.default_rng(0)
    frozen = [rng.random((30, 40), dtype=np.float32) for _ in range(3)]
    for matrix in frozen:
        matrix.flags.writeable = False
    item = WeightsImage(keep_bytes=2 * 30 * 40 * 4)  # two colourings

    def show(matrix):
        item.setImage(matrix, levels=(0.0, 1.0), lut=lut, autoLevels=False)
        item.render()
        np.testing.assert_array_equal(pixels(item.qimage), pixels(pyqtgraph_colouring(matrix, (0, 1), lut)))

    for matrix in (frozen[0], frozen[1], frozen[0], frozen[1]):
        show(matrix)
    assert item.colourings == 2
    show(frozen[2])  # a third: the oldest-used (frozen[0]) goes
    show(frozen[1])
    assert item.colourings == 3
    show(frozen[0])
    assert item.colourings == 4
    editable = rng.random((30, 40), dtype=np.float32)  # may change under the same memory
    show(editable)
    editable *= 0.5
    show(editable)  # its new numbers, coloured afresh
    assert item.colourings == 6
    item.forget()
    show(frozen[0])
    assert item.colourings == 7


def test_nan_cells_stay_transparent_as_pyqtgraph_draws_them():
    lut = pg.colormap.get("viridis").getLookupTable(nPts=256)
    matrix = np.full((6, 5), 0.25, dtype=np.float32)
    matrix[2, 3] = np.nan
    matrix.flags.writeable = False
    item = WeightsImage()
    item.setImage(matrix, levels=(0.0, 1.0), lut=lut, autoLevels=False)
    item.render()
    assert item.qimage.format() == QImage.Format.Format_ARGB32
    shown, reference = pixels(item.qimage), pixels(pyqtgraph_colouring(matrix, (0.0, 1.0), lut))
    assert shown[2, 3] >> 24 == 0 and (shown[0, 0] >> 24) == 0xFF
    np.testing.assert_array_equal(shown[~np.isnan(matrix)], reference[~np.isnan(matrix)])
    assert item.nan_cells(matrix) is item.nan_cells(matrix)  # one pass per frozen matrix
    np.testing.assert_array_equal(item.nan_cells(matrix), np.isnan(matrix))
