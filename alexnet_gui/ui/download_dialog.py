"""The offer to download the ImageNet weights or pick a local file, without blocking the app.

The dialog is modeless: the user can keep opening images (they are shown, just not classified)
while the weights download, and closing the dialog cancels the download.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QCloseEvent
from PyQt5.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.ui import dialogs

if TYPE_CHECKING:  # annotations only; the runner is handed in by the app
    from alexnet_gui.workers.jobs import DownloadJob, JobRunner

_MB = 1024 * 1024


class DownloadDialog(QDialog):
    """Download (with progress and cancel) or choose a weights file.

    Signals:
        weights_ready(object): the Path of the weights to load (downloaded from ``url`` or
            chosen), or ``None`` for the official ImageNet weights, now where they are looked for.
    """

    weights_ready = pyqtSignal(object)

    def __init__(
        self,
        parent: QWidget | None,
        *,
        jobs: JobRunner,
        message: str,
        url: str | None = None,
        directory: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.setWindowTitle("ImageNet weights")
        self.setModal(False)
        self.setMinimumWidth(460)
        self._jobs = jobs
        self._url = url
        self._directory = directory
        self._job: DownloadJob | None = None
        text = QLabel(
            f"{message}<br><br>Download the official torchvision weights (about 233 MB), or "
            "choose a weights file or checkpoint you already have. You can keep using the "
            "app meanwhile: images are shown, and classified once a model is loaded."
        )
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox()
        self.download_button = QPushButton("Download")
        self.choose_button = QPushButton("Choose file…")
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        buttons.addButton(self.download_button, QDialogButtonBox.AcceptRole)
        buttons.addButton(self.choose_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.close_button, QDialogButtonBox.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.download_button.clicked.connect(self._on_download_clicked)
        self.choose_button.clicked.connect(self._on_choose_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        # close() is a Qt slot returning bool; the stub wants slots that return None
        self.close_button.clicked.connect(self.close)  # type: ignore[arg-type]

    @property
    def downloading(self) -> bool:
        return self._job is not None

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def closeEvent(self, event: QCloseEvent | None) -> None:
        self.cancel()
        super().closeEvent(event)

    def reject(self) -> None:  # Escape
        self.cancel()
        super().reject()

    @pyqtSlot()
    def _on_download_clicked(self) -> None:
        if self._job is not None:
            return
        job = self._jobs.make_download(self._url)
        job.progressed.connect(self._on_job_progressed)
        job.completed.connect(self._on_job_completed)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)
        self._job = job
        self._set_running(True)
        self.status.setText("Connecting…")
        self.status.setStyleSheet("")
        self._jobs.start(job)

    @pyqtSlot()
    def _on_choose_clicked(self) -> None:
        path = dialogs.open_weights(self, self._directory)
        if path is not None:
            self.cancel()
            self.weights_ready.emit(path)
            self.close()

    @pyqtSlot()
    def _on_cancel_clicked(self) -> None:
        self.cancel()
        self.status.setText("Cancelling…")

    @pyqtSlot("qint64", "qint64")
    def _on_job_progressed(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(done * 1000 / total))
            self.status.setText(f"{done / _MB:.1f} of {total / _MB:.1f} MB")
        else:
            self.progress.setRange(0, 0)  # busy indicator: the server sent no size
            self.status.setText(f"{done / _MB:.1f} MB")

    @pyqtSlot(object)
    def _on_job_completed(self, path: Path) -> None:
        self.status.setText(f"Saved to {path}")
        self.weights_ready.emit(None if self._url is None else Path(path))
        self.close()

    @pyqtSlot(str)
    def _on_job_failed(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #c0392b;")
        self.download_button.setText("Try again")

    @pyqtSlot()
    def _on_job_ended(self) -> None:
        self._job = None
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.download_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
