"""HeadStatsTableModel: one row per head, one column per statistic, sortable by value."""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

from ..state.head_stat_table import TITLES, HeadStatTable, value_text

FIXED_COLUMNS = ("Head",)  # "cross L0 H2"; sorted by it, rows are in layer, then head order
HEADERS = {"entropy": "entropy", "max_weight": "max weight", "first_token": "first token",
           "previous_token": "previous", "diagonal": "diagonal", "mean_distance": "distance",
           "induction": "induction", "alignment": "alignment"}  # short: eight columns fit beside the map
SORT_ROLE = Qt.ItemDataRole.UserRole  # the raw number: sorting never compares texts


class HeadStatsTableModel(QAbstractTableModel):
    """Rows: heads in layer order; columns: the head's name, then each statistic."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table: HeadStatTable | None = None
        self.statistics: list[str] = []

    def set_table(self, table: HeadStatTable | None) -> None:
        self.beginResetModel()
        self.table = table
        self.statistics = list(table.stats) if table is not None else []
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        if self.table is None or parent.isValid():
            return 0
        layers, heads = self.table.shape
        return layers * heads

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        return 0 if self.table is None or parent.isValid() else len(FIXED_COLUMNS) + len(self.statistics)

    def head(self, row: int) -> tuple[int, int]:
        """(layer, head) of a source row."""
        return divmod(row, self.table.shape[1])

    def column_of(self, statistic: str) -> int:
        return len(FIXED_COLUMNS) + self.statistics.index(statistic)

    def value(self, row: int, column: int) -> float:
        layer, head = self.head(row)
        if column < len(FIXED_COLUMNS):
            return float(row)
        return float(self.table.stats[self.statistics[column - len(FIXED_COLUMNS)]][layer, head])

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if self.table is None or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == SORT_ROLE:
            value = self.value(row, column)
            return -math.inf if math.isnan(value) else value  # undefined sorts below every number
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == 0:
                return self.table.head_name(*self.head(row))
            return value_text(self.value(row, column))
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or section < 0:
            return None
        if section < len(FIXED_COLUMNS):
            return FIXED_COLUMNS[section] if role == Qt.ItemDataRole.DisplayRole else None
        name = self.statistics[section - len(FIXED_COLUMNS)]
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[name]
        return TITLES[name] if role == Qt.ItemDataRole.ToolTipRole else None


def sorting_proxy(model: HeadStatsTableModel, parent=None) -> QSortFilterProxyModel:
    """A proxy that sorts by the numbers of ``SORT_ROLE``."""
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    return proxy
