"""ReportAction: File → Export report… writes the multi-page PDF of the trace on screen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from ..export.report import write_report


class ReportAction(QObject):
    """The menu item, enabled while a trace is shown; ``write(path)`` is what it does."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.action = window.file_menu.addAction("Export &report…", self.export_dialog)
        self.action.setToolTip("One PDF of this input: every kind's heads, the selected head, the "
                               "logit lens and the head statistics, each page titled")
        self.action.setEnabled(False)
        window.state.traceChanged.connect(lambda trace: self.action.setEnabled(trace is not None))

    def export_dialog(self) -> None:
        suggested = f"{self.window.state.model_name() or 'report'}-report.pdf".replace(" ", "-")
        path, _ = QFileDialog.getSaveFileName(self.window, "Export report", suggested, "PDF document (*.pdf)")
        if path:
            self.write(path if path.lower().endswith(".pdf") else path + ".pdf")

    def write(self, path):
        """Write the report now; returns the Report, or None after showing the problem."""
        try:
            report = write_report(self.window.state.core, path)
        except (OSError, ValueError) as error:
            self.window.report(str(error), dialog_title="Could not export the report")
            return None
        notes = f" ({' '.join(report.notes)})" if report.notes else ""
        self.window.statusBar().showMessage(
            f"Wrote {len(report.pages)} pages to {Path(path).name}{notes}", 8000)
        return report
