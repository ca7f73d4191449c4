"""Model > Train on Folder: fine-tune or train AlexNet from the window, with a live curve.

The dialog is modeless and runs the command line's own training core in a background job (see
``workers/training_job.py``): the user can keep classifying while it trains, close the dialog and
open it again from the menu to see how far it got. Cancel stops between two batches and leaves
``OUT.last``, which "Continue the interrupted run" resumes. "Use this model" loads the best
checkpoint into the main window at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import Qt, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.training.form import TrainForm
from alexnet_gui.ui.training.loss_plot import LossPlot

if TYPE_CHECKING:  # annotations only; jobs are made by the factory the app hands in
    from alexnet_gui.core.training.state import TrainProgress, TrainResult
    from alexnet_gui.workers.jobs import Job, JobRunner
    from alexnet_gui.workers.training_job import TrainingJob

#: ``options -> job``: :class:`~alexnet_gui.workers.training_job.TrainingJob` in the app.
TrainJobFactory = Callable[[Mapping[str, Any]], "TrainingJob"]
COLUMNS = ("Epoch", "Loss", "Train acc", "Val acc", "Time (total)", "Saved")
#: The widest text each column shows: the table is never narrower than these.
WIDEST = ("100/100", "10.0000", "100.0%", "100.0%", "99999.9 s", "best")
ERROR_STYLE = "color: #c0392b;"


class TrainDialog(QDialog):
    """The training form, a progress bar, the loss/accuracy plot and a table of epochs.

    Signals:
        model_chosen(object): "Use this model" was clicked; the Path of the best checkpoint.
        run_finished(object): a run ended with this TrainResult (completed or cancelled).
    """

    model_chosen = pyqtSignal(object)
    run_finished = pyqtSignal(object)

    def __init__(self, parent: QWidget | None, *, jobs: JobRunner, make_job: TrainJobFactory,
                 directory: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("trainDialog")
        self.setWindowTitle("Train on a folder of images")
        self.setModal(False)
        self._jobs, self._make_job = jobs, make_job
        self._job: Job | None = None
        self.train_result: TrainResult | None = None  # not `result`: QDialog.result()
        self._loading: Path | None = None  # the checkpoint "Use this model" is loading
        self.form = TrainForm(directory=directory)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.status = QLabel("Choose a folder with one sub-folder of images per class.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = LossPlot()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        present(self.table.verticalHeader()).setVisible(False)
        header = present(self.table.horizontalHeader())
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        time_item = present(self.table.horizontalHeaderItem(COLUMNS.index("Time (total)")))
        time_item.setToolTip("Time since the run started, at the end of each epoch")
        self._fit_columns()
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel training")
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Load the best epoch's checkpoint into the main window")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide this window; a run goes on in the background")
        buttons = QDialogButtonBox()
        buttons.addButton(self.train_button, QDialogButtonBox.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.use_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.close_button, QDialogButtonBox.RejectRole)
        charts = QHBoxLayout()
        charts.addWidget(self.plot, 1)
        charts.addWidget(self.table, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(charts, 1)
        layout.addWidget(buttons)
        self.train_button.clicked.connect(self._on_train_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.use_button.clicked.connect(self._on_use_clicked)
        self.close_button.clicked.connect(self.hide)
        self._set_running(False)
        self.use_button.setEnabled(False)

    @property
    def running(self) -> bool:
        return self._job is not None

    def start(self) -> bool:
        """Start a run with the form's settings; ``False`` (and a message) if incomplete."""
        if self._job is not None:
            return False
        try:
            options = self.form.options()
        except ValueError as exc:
            self._say(str(exc), error=True)
            return False
        job = self._make_job(options)
        job.reported.connect(self._on_job_reported)
        job.completed.connect(self._on_job_completed)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)
        self._job, self.train_result = job, None
        self.plot.clear(epochs=int(options["epochs"]))
        self.table.setRowCount(0)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self._say("Reading the images and building the model…")
        self._set_running(True)
        self.use_button.setEnabled(False)
        self._jobs.start(job)
        return True

    def present(self) -> None:
        """Show the dialog in front, with whatever run is going on or last ended."""
        self.show()
        self.raise_()
        self.activateWindow()

    def cancel(self) -> None:
        """Stop the run after the current batch; the core saves ``OUT.last`` for resuming."""
        if self._job is not None:
            self._job.cancel()
            self._say("Cancelling after this batch…")

    def reject(self) -> None:  # Escape hides the dialog like Close; the run goes on
        self.hide()

    def _fit_columns(self) -> None:
        """A table wide enough for every column, "Saved" included, at the widest it gets."""
        metrics = self.table.fontMetrics()
        widths = [max(metrics.horizontalAdvance(a), metrics.horizontalAdvance(b)) + 24
                  for a, b in zip(COLUMNS, WIDEST, strict=True)]
        frame = 2 * self.table.frameWidth()
        scroll = present(self.table.style()).pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.table.setMinimumWidth(sum(widths) + frame + scroll + 2)

    def model_loaded(self, weights: Path | None) -> None:
        """The main window finished loading ``weights``: end "Loading … in the main window"."""
        if self._loading is not None and weights == self._loading:
            self._say(f"{self._loading.name} is now the main window's model.")
            self._loading = None

    def model_failed(self, weights: Path | None, message: str) -> None:
        if self._loading is not None and weights == self._loading:
            self._say(message, error=True)
            self._loading = None

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")

    def _set_running(self, running: bool) -> None:
        self.form.setEnabled(not running)
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _add_epoch_row(self, progress: TrainProgress) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        val = "—" if progress.val_acc is None else f"{progress.val_acc:.1%}"
        cells = (f"{progress.epoch}/{progress.epochs}", f"{progress.loss:.4f}",
                 f"{progress.train_acc:.1%}", val, f"{progress.elapsed_s:.1f} s",
                 "best" if progress.is_best else "")
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        self.table.scrollToBottom()

    @pyqtSlot()
    def _on_train_clicked(self) -> None:
        self.start()

    @pyqtSlot()
    def _on_cancel_clicked(self) -> None:
        self.cancel()

    @pyqtSlot()
    def _on_use_clicked(self) -> None:
        if self.train_result is not None and self.train_result.checkpoint is not None:
            self._loading = self.train_result.checkpoint
            self._say(f"Loading {self.train_result.checkpoint.name} in the main window…")
            self.model_chosen.emit(self.train_result.checkpoint)

    @pyqtSlot(object)
    def _on_job_reported(self, progress: TrainProgress) -> None:
        epochs = max(1, progress.epochs)
        if progress.phase == "setup":
            self.plot.clear(epochs=epochs, start_epoch=progress.epoch)
            self._say(f"Training {progress.message}")
            return
        if progress.phase == "epoch":
            self._add_epoch_row(progress)
            self.plot.add_epoch(progress.epoch, progress.train_acc, progress.val_acc)
            self.progress.setValue(round(1000 * progress.epoch / epochs))
            return
        done = progress.batch / progress.batches if progress.batches else 1.0
        what = "training" if progress.phase == "train" else "validating"
        self.progress.setFormat(f"Epoch {progress.epoch}/{epochs} · {what} "
                                f"{progress.batch}/{progress.batches}")
        if progress.phase == "train":
            position = progress.epoch - 1 + done
            self.progress.setValue(round(1000 * position / epochs))
            if progress.loss is not None:
                self.plot.add_loss(position, progress.loss)

    @pyqtSlot(object)
    def _on_job_completed(self, result: TrainResult) -> None:
        self.train_result = result
        skipped = (f" {result.skipped_images} unreadable image(s) were skipped."
                   if result.skipped_images else "")
        best = result.history[result.best_epoch - 1] if result.best_epoch else None
        score = ("" if best is None else f" (val acc {best.val_acc:.1%})"
                 if best.val_acc is not None else f" (train acc {best.train_acc:.1%})")
        if result.cancelled:
            kept = (f" The best epoch so far{score} is in {result.checkpoint.name}."
                    if result.checkpoint else "")
            self._say(f"Cancelled. The run is saved in {result.resume_file.name}: tick "
                      f"'Continue the interrupted run' to resume it.{kept}{skipped}")
            self.progress.setFormat("Cancelled")
        elif result.checkpoint is None:
            self._say(f"Nothing to train: {len(result.history)} epochs are done already; raise "
                      "the number of epochs to continue.")
        else:
            self._say(f"Done on {result.device}: epoch {result.best_epoch}{score} saved to "
                      f"{result.checkpoint}.{skipped}")
            self.progress.setValue(1000)
            self.progress.setFormat("Done")
        self.use_button.setEnabled(result.checkpoint is not None and result.checkpoint.is_file())
        self.form.refresh()
        self.run_finished.emit(result)

    @pyqtSlot(str)
    def _on_job_failed(self, message: str) -> None:
        self._say(message, error=True)
        self.progress.setFormat("Failed")

    @pyqtSlot()
    def _on_job_ended(self) -> None:
        self._job = None
        self._set_running(False)
