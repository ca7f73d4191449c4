"""The folder panel: the images of the open folder (or files), their top-1, progress and cancel.

It doubles as the folder's image list: a click (or the keyboard) on a row shows that image.
"""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QColor
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.messages import BatchFinished, BatchItem
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.widgets.overlay import percent

HEADERS = ("File", "Top-1", "Probability")
CSV_HEADER = ("file", "top1", "class_index", "probability", "model", "error")
ERROR_COLOUR = QColor(200, 60, 60)


class BatchPanel(QWidget):
    """A table of the collection's images, filled in as the batch classifies them.

    Signals:
        row_selected(int): the user picked a row (mouse or keyboard).
        cancel_requested(): the Cancel button was pressed.
        export_requested(): the Export CSV button was pressed.
    """

    row_selected = pyqtSignal(int)
    cancel_requested = pyqtSignal()
    export_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchPanel")
        self._paths: list[Path] = []
        self._csv_rows: list[tuple[str, ...]] = []
        self._selecting = False
        self.summary = QLabel("No folder open.")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        vertical = present(self.table.verticalHeader())
        vertical.setVisible(False)
        vertical.setDefaultSectionSize(22)
        header = present(self.table.horizontalHeader())
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self.table.currentCellChanged.connect(self._on_table_current_cell_changed)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.export_button.clicked.connect(self.export_requested)

    def set_paths(self, paths: list[Path] | tuple[Path, ...], *, running: bool) -> None:
        """List the images; their classes arrive later through :meth:`add_item`."""
        self._paths = list(paths)
        self._csv_rows = [(str(p), "", "", "", "", "") for p in self._paths]
        self.table.setRowCount(len(self._paths))
        for row, path in enumerate(self._paths):
            name = QTableWidgetItem(path.name)
            name.setToolTip(str(path))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem("…" if running else ""))
            self.table.setItem(row, 2, QTableWidgetItem(""))
        self.progress.setRange(0, max(1, len(self._paths)))
        self.progress.setValue(0)
        self.progress.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(False)
        self.summary.setText(f"{len(self._paths)} images" + (" · classifying…" if running else ""))

    def add_item(self, item: BatchItem) -> None:
        if not 0 <= item.index < len(self._paths):
            return
        row = item.index
        if item.top1 is not None:
            present(self.table.item(row, 1)).setText(item.top1.label)
            probability = QTableWidgetItem(percent(item.top1.probability))
            probability.setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 2, probability)
            self._csv_rows[row] = (str(item.path), item.top1.label, str(item.top1.index),
                                   f"{item.top1.probability:.6f}", item.model_name, "")
        else:
            cell = present(self.table.item(row, 1))
            cell.setText(f"⚠ {item.error}")
            cell.setToolTip(item.error or "")
            cell.setForeground(ERROR_COLOUR)
            self._csv_rows[row] = (str(item.path), "", "", "", item.model_name, item.error or "")
        self.progress.setValue(self.progress.value() + 1)
        self.export_button.setEnabled(True)

    def finish(self, finished: BatchFinished) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        parts = [f"{finished.total} images"]
        if finished.message:
            parts.append(finished.message)
        else:
            parts.append(f"{finished.done - finished.failed} classified")
            if finished.failed:
                parts.append(f"{finished.failed} could not be read")
            if finished.cancelled:
                parts.append("cancelled")
        self.summary.setText(" · ".join(parts))
        if finished.cancelled:
            for row in range(self.table.rowCount()):
                cell = present(self.table.item(row, 1))
                if cell.text() == "…":
                    cell.setText("")

    def csv_rows(self) -> list[tuple[str, ...]]:
        """The header and one row per image, as the CSV export writes them."""
        return [CSV_HEADER, *self._csv_rows]

    def select_row(self, row: int) -> None:
        """Follow the image shown elsewhere, without emitting :attr:`row_selected`."""
        if 0 <= row < self.table.rowCount() and row != self.table.currentRow():
            self._selecting = True
            try:
                self.table.setCurrentCell(row, 0)
                self.table.scrollToItem(self.table.item(row, 0))
            finally:
                self._selecting = False

    @pyqtSlot(int, int, int, int)
    def _on_table_current_cell_changed(self, row: int, _col: int, previous: int, _pc: int) -> None:
        if not self._selecting and row >= 0 and row != previous:
            self.row_selected.emit(row)
