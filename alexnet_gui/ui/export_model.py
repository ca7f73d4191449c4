"""Model > Export…: the current model as an ONNX or OpenVINO IR file other programs can run.

The dialog asks for the format, int8 or not, and the file; the export itself is the one
``alexnet-gui export`` runs, as a background job (``workers/export_job.py``, handed in by
``app.py``), so the window stays usable for the seconds it takes. The dialog is not modal:
closing it does not stop a running export, and reopening it shows how far it got.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PyQt5.QtCore import QObject, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QAction,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.session import Session

if TYPE_CHECKING:
    from alexnet_gui.core.export.exporter import ExportReport
    from alexnet_gui.workers.export_job import ExportJob

#: ``(weights, format, out, *, int8) -> job``: ExportJob in the app.
ExportJobFactory = Callable[..., "ExportJob"]
FORMATS = {"onnx": ("ONNX (.onnx), for ONNX Runtime and most runtimes", ".onnx"),
           "openvino": ("OpenVINO IR (.xml + .bin)", ".xml")}
ERROR_STYLE = "color: #c0392b;"
DONE_STYLE = "color: #1e7e34;"


class _Jobs(Protocol):
    def start(self, job: ExportJob) -> object: ...


def choose_export_file(parent: QWidget, suggested: Path, fmt: str) -> Path | None:
    """Ask where to write; a function a test can replace (no modal dialog in tests)."""
    label, suffix = FORMATS[fmt]
    name, _ = QFileDialog.getSaveFileName(parent, "Export the model as", str(suggested),
                                          f"{label.split(',')[0]} (*{suffix})")
    return Path(name) if name else None


def suggested_name(weights: Path | None, fmt: str, *, int8: bool) -> str:
    """``NAME[-int8].onnx|.xml``, as the command line's default (``alexnet-imagenet`` for the
    ImageNet weights)."""
    stem = (weights.name.split(".")[0] or weights.name) if weights else "alexnet-imagenet"
    return f"{stem}{'-int8' if int8 else ''}{FORMATS[fmt][1]}"


class ExportModelDialog(QDialog):
    """Format, int8 and file; Export starts the job, whose stages and result show below.

    Signals:
        exported(object): an :class:`ExportReport`: the file is written and checked.
    """

    exported = pyqtSignal(object)

    def __init__(self, parent: QWidget | None, *, jobs: _Jobs,
                 make_job: ExportJobFactory) -> None:
        super().__init__(parent)
        self.setObjectName("exportModelDialog")
        self.setWindowTitle("Export Model")
        self._jobs, self._make_job = jobs, make_job
        self.weights: Path | None = None
        self.folder = Path.home()
        self.job: ExportJob | None = None
        self._chosen = False  # the user picked or typed the file: do not rename it
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.format = QComboBox()
        for key, (label, _suffix) in FORMATS.items():
            self.format.addItem(label, key)
        self.int8 = QCheckBox("int8: about 4x smaller and faster on most CPUs; calibrated on "
                              "real images and checked against fp32")
        self.file = QLineEdit()
        self.browse = QPushButton("Browse…")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("The class names and the pre-processing go into the file's "
                             "metadata; examples/run_exported.py runs it without this app.")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = present(self.buttons.addButton("Export",
                                                            QDialogButtonBox.AcceptRole))
        self.cancel_button = present(self.buttons.addButton(QDialogButtonBox.Cancel))
        self.close_button = present(self.buttons.addButton(QDialogButtonBox.Close))
        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("Model:", self.model_label)
        form.addRow("Format:", self.format)
        form.addRow("", self.int8)
        form.addRow("File:", file_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._on_choice_changed)
        self.int8.toggled.connect(self._on_choice_changed)
        self.file.textEdited.connect(self._on_file_text_edited)
        self.browse.clicked.connect(self._on_browse_clicked)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)  # hides it; a running export goes on
        self.set_running(False)

    def chosen_format(self) -> str:
        return str(self.format.currentData())

    def set_model(self, weights: Path | None, name: str, folder: Path) -> None:
        """The model to export: its file (``None``: ImageNet), its name, where files go."""
        if self.job is not None:
            return  # the running export's model stays on show
        self.weights, self.folder, self._chosen = weights, folder, False
        self.model_label.setText(f"{name}  ({weights if weights else 'ImageNet weights'})")
        self._suggest()

    def present(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()

    def set_running(self, running: bool) -> None:
        for widget in (self.format, self.int8, self.file, self.browse, self.export_button):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)

    def say(self, text: str, style: str = "") -> None:
        self.status.setText(text)
        self.status.setStyleSheet(style)

    def start(self) -> None:
        """Start exporting to the file named in the dialog; ignored while an export runs."""
        if self.job is not None:
            return
        text = self.file.text().strip()
        if not text:
            self.say("Choose a file to write first.", ERROR_STYLE)
            return
        job = self._make_job(self.weights, self.chosen_format(), Path(text).expanduser(),
                             int8=self.int8.isChecked())
        job.stage_changed.connect(self._on_job_stage_changed)
        job.progressed.connect(self._on_job_progressed)
        job.completed.connect(self._on_job_completed)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)
        self.job = job
        self.set_running(True)
        self.say("Starting…")
        self._jobs.start(job)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.say("Cancelling after the current step…")

    def _suggest(self) -> None:
        if self._chosen:
            current = Path(self.file.text().strip())
            self.file.setText(str(current.with_suffix(FORMATS[self.chosen_format()][1])))
            return
        name = suggested_name(self.weights, self.chosen_format(), int8=self.int8.isChecked())
        self.file.setText(str(self.folder / name))

    @pyqtSlot()
    def _on_choice_changed(self) -> None:
        self._suggest()

    @pyqtSlot(str)
    def _on_file_text_edited(self, _text: str) -> None:
        self._chosen = True

    @pyqtSlot()
    def _on_browse_clicked(self) -> None:
        path = choose_export_file(self, Path(self.file.text().strip() or self.folder),
                                  self.chosen_format())
        if path is not None:
            self._chosen = True
            self.file.setText(str(path))

    @pyqtSlot(str)
    def _on_job_stage_changed(self, text: str) -> None:
        self.say(text)

    @pyqtSlot("qint64", "qint64")
    def _on_job_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    @pyqtSlot(object)
    def _on_job_completed(self, report: ExportReport) -> None:
        lines = report.lines()
        if report.warning:
            lines.append(f"Warning: {report.warning}")
        self.say("\n".join(lines), ERROR_STYLE if report.warning else DONE_STYLE)
        self.exported.emit(report)

    @pyqtSlot(str)
    def _on_job_failed(self, message: str) -> None:
        self.say(f"Not exported: {message}", ERROR_STYLE)

    @pyqtSlot()
    def _on_job_ended(self) -> None:
        self.job = None
        self.set_running(False)


class ExportModelController(QObject):
    """Model > Export…: fills the dialog with the current model and says where the file went."""

    def __init__(self, session: Session, *, action: QAction, make_job: ExportJobFactory,
                 dialog_parent: QWidget) -> None:
        super().__init__(session)
        self._session = session
        self.action = action
        self.dialog = ExportModelDialog(dialog_parent, jobs=session.jobs, make_job=make_job)
        self.dialog.exported.connect(self._on_dialog_exported)
        action.triggered.connect(self._on_action_triggered)

    def open_dialog(self) -> None:
        last = self._session.settings.last_model
        weights = Path(last) if last else None
        model = self._session.model
        name = model.name if model is not None else (weights.name if weights else "ImageNet")
        folder = weights.parent if weights else Path(self._session.start_dir())
        self.dialog.set_model(weights, name, folder)
        self.dialog.present()

    @pyqtSlot()
    def _on_action_triggered(self) -> None:
        self.open_dialog()

    @pyqtSlot(object)
    def _on_dialog_exported(self, report: ExportReport) -> None:
        self._session.post_status(f"Model exported to {report.path}", 10_000)
