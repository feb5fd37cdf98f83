"""ExportDialog: where to save a figure, as what (PNG, SVG, PDF), and how big.

Size is in pixels at a DPI; the physical size (pixels / DPI) is shown and is also the page size
of SVG and PDF files, so a figure looks the same in every format. Changing the DPI keeps the
physical size, as a "resample" does in image editors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSizeF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ..export.formats import formats_for
from ..figures.output import DEFAULT_DPI
from ..figures.painting import POINTS_PER_INCH

FORMATS = {f.suffix: f.dialog_filter for f in formats_for("figure")}  # suffix -> file dialog filter


@dataclass(frozen=True)
class ExportOptions:
    path: Path
    width: int
    height: int
    dpi: int

    @property
    def format(self) -> str:
        return self.path.suffix.lower().lstrip(".")


class ExportDialog(QDialog):
    """Asks for a path, format, pixel size and DPI. ``options()`` gives the answer."""

    def __init__(self, natural_size: QSizeF, suggested_path: str, parent: QWidget | None = None,
                 title: str = "Export plot", dpi: int = DEFAULT_DPI):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle(title)
        self._aspect = natural_size.height() / max(natural_size.width(), 1.0)
        self._dpi = dpi

        self.path_edit = QLineEdit(suggested_path, objectName="exportPathEdit")
        self.path_edit.setMinimumWidth(360)
        browse = QPushButton("Browse…", objectName="exportBrowseButton")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)

        self.format_selector = QComboBox(objectName="exportFormatSelector")
        for fmt in FORMATS:
            self.format_selector.addItem(fmt.upper(), fmt)
        self.width_spin = _pixel_spin("exportWidth")
        self.height_spin = _pixel_spin("exportHeight")
        self.width_spin.setValue(round(natural_size.width() * dpi / POINTS_PER_INCH))
        self.height_spin.setValue(round(natural_size.height() * dpi / POINTS_PER_INCH))
        self.keep_aspect = QCheckBox("Keep proportions", objectName="exportKeepAspect", checked=True)
        self.dpi_spin = QSpinBox(objectName="exportDpi", minimum=36, maximum=1200, value=dpi,
                                 suffix=" dpi")
        self.physical_label = QLabel(objectName="exportPhysicalSize")
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)
        size_row.addWidget(QLabel("pixels"))
        size_row.addWidget(self.keep_aspect)
        size_row.addStretch(1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)

        form = QFormLayout(self)
        form.addRow("File:", path_row)
        form.addRow("Format:", self.format_selector)
        form.addRow("Size:", size_row)
        form.addRow("Resolution:", self.dpi_spin)
        form.addRow("Printed size:", self.physical_label)
        form.addRow(buttons)

        self.path_edit.textChanged.connect(self._on_path_changed)
        self.format_selector.currentIndexChanged.connect(self._on_format_changed)
        self.width_spin.valueChanged.connect(self._on_width_changed)
        self.height_spin.valueChanged.connect(self._on_height_changed)
        self.dpi_spin.valueChanged.connect(self._on_dpi_changed)
        self._on_path_changed(suggested_path)
        self._update_physical_size()

    def options(self) -> ExportOptions:
        return ExportOptions(Path(self.path_edit.text().strip()).expanduser(), self.width_spin.value(),
                             self.height_spin.value(), self.dpi_spin.value())

    # ---- keeping the fields consistent ------------------------------------------------
    def _browse(self) -> None:
        fmt = self.format_selector.currentData()
        path, _ = QFileDialog.getSaveFileName(self, self.windowTitle(), self.path_edit.text(),
                                              ";;".join(FORMATS.values()), FORMATS[fmt])
        if path:
            self.path_edit.setText(path)

    def _on_path_changed(self, text: str) -> None:
        fmt = Path(text.strip()).suffix.lower().lstrip(".")
        if fmt in FORMATS and fmt != self.format_selector.currentData():
            self.format_selector.setCurrentIndex(list(FORMATS).index(fmt))
        self.save_button.setEnabled(fmt in FORMATS)

    def _on_format_changed(self, _index: int) -> None:
        fmt = self.format_selector.currentData()
        path = Path(self.path_edit.text().strip() or "figure")
        if path.suffix.lower().lstrip(".") != fmt:
            self.path_edit.setText(str(path.with_suffix("." + fmt)))

    def _on_width_changed(self, width: int) -> None:
        if self.keep_aspect.isChecked():
            self._set_quietly(self.height_spin, round(width * self._aspect))
        self._update_physical_size()

    def _on_height_changed(self, height: int) -> None:
        if self.keep_aspect.isChecked():
            self._set_quietly(self.width_spin, round(height / self._aspect))
        self._update_physical_size()

    def _on_dpi_changed(self, dpi: int) -> None:
        scale = dpi / self._dpi
        self._dpi = dpi
        self._set_quietly(self.width_spin, round(self.width_spin.value() * scale))
        self._set_quietly(self.height_spin, round(self.height_spin.value() * scale))
        self._update_physical_size()

    @staticmethod
    def _set_quietly(spin: QSpinBox, value: int) -> None:
        spin.blockSignals(True)
        spin.setValue(value)
        spin.blockSignals(False)

    def _update_physical_size(self) -> None:
        dpi = self.dpi_spin.value()
        width, height = self.width_spin.value() / dpi, self.height_spin.value() / dpi
        self.physical_label.setText(f"{width:.1f} × {height:.1f} in ({width * 2.54:.1f} × "
                                    f"{height * 2.54:.1f} cm)")


def _pixel_spin(name: str) -> QSpinBox:
    return QSpinBox(objectName=name, minimum=16, maximum=16384, singleStep=50)
