"""Model > Train on Folder…: the menu item, the dialog's jobs on the chosen device, and the model
it made loaded into the main worker when the user asks for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QObject, pyqtSlot
from PyQt5.QtWidgets import QMenu, QWidget

from alexnet_gui.messages import ModelFailure, ModelStatus
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.session import Session
from alexnet_gui.ui.training.dialog import TrainDialog, TrainJobFactory

if TYPE_CHECKING:
    from alexnet_gui.core.training.state import TrainResult
    from alexnet_gui.workers.training_job import TrainingJob


class TrainingController(QObject):
    """Builds the dialog and runs its jobs on the Device menu's choice (Auto: CUDA if present)."""

    def __init__(self, session: Session, *, menu: QMenu, make_job: TrainJobFactory,
                 dialog_parent: QWidget) -> None:
        super().__init__(session)
        self._session, self._make_job = session, make_job
        self.dialog = TrainDialog(dialog_parent, jobs=session.jobs, make_job=self._job_on_device,
                                  directory=session.start_dir())
        self.dialog.model_chosen.connect(session.load_model)
        session.inference.model_loaded.connect(self._on_inference_model_loaded)
        session.inference.model_failed.connect(self._on_inference_model_failed)
        self.dialog.run_finished.connect(self._on_dialog_run_finished)
        menu.addSeparator()
        self.action = present(menu.addAction("&Train on Folder…"))
        self.action.setStatusTip("Fine-tune or train AlexNet on your own images, one folder per "
                                 "class")
        self.action.triggered.connect(lambda _checked=False: self.dialog.present())

    def _job_on_device(self, options: Mapping[str, Any]) -> TrainingJob:
        return self._make_job({**options, "device": self._session.settings.device})

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, status: ModelStatus) -> None:
        self.dialog.model_loaded(status.weights)

    @pyqtSlot(object)
    def _on_inference_model_failed(self, failure: ModelFailure) -> None:
        self.dialog.model_failed(failure.weights, failure.message)

    @pyqtSlot(object)
    def _on_dialog_run_finished(self, result: TrainResult) -> None:
        what = "cancelled" if result.cancelled else "finished"  # the dialog may be closed by now
        self._session.post_status(f"Training {what}: Model > Train on Folder… for more.", 10_000)
