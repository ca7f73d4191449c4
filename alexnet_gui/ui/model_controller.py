"""The model in use: the Model, Device and Options menus, what the worker says about the model,
and the offer to download the ImageNet weights when they are missing.

What the worker says goes to one of two places. The app's own decisions (which engine ``auto``
took and why) go to the status bar, the model panel and the log; only what the user must act on
(an engine they chose that cannot run, a model that cannot be loaded) goes to the red message
bar. A normal start shows no red bar.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt5.QtCore import QObject, pyqtSlot
from PyQt5.QtWidgets import QAction, QDialog, QWidget

from alexnet_gui.messages import ModelFailure, ModelStatus, RuntimeInfo
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.actions import Actions, engine_timings_label
from alexnet_gui.ui.download_dialog import DownloadDialog
from alexnet_gui.ui.session import Session
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields

log = logging.getLogger(__name__)


class ModelController(QObject):
    """Loads models and moves them between devices and engines; shows what is in use.

    Args:
        session: the shared session.
        actions: the window's actions (Model, Device and Options menus).
        predictions: the side panel whose model box names the model.
        status: the status bar's fields.
        dialog_parent: the widget dialogs are centred on.
        download_url: where the download dialog fetches weights; torchvision's by default.
    """

    def __init__(self, session: Session, *, actions: Actions, predictions: PredictionsPanel,
                 status: StatusFields, dialog_parent: QWidget,
                 download_url: str | None = None) -> None:
        super().__init__(session)
        self._session, self._actions = session, actions
        self._predictions, self._status = predictions, status
        self._parent, self._download_url = dialog_parent, download_url
        self.download_dialog: QDialog | None = None
        self._connect()
        self.check_actions()

    def start(self, weights: str | None = None) -> None:
        """Load ``weights``, else the last model used (ImageNet if it is gone)."""
        chosen = weights or self._session.settings.last_model
        if chosen and not weights and not Path(chosen).is_file():
            self._session.post_message(f"The last model {chosen} is gone; using ImageNet.")
            chosen = ""
        self._session.load_model(Path(chosen) if chosen else None)

    def open_weights_dialog(self) -> None:
        path = dialogs.open_weights(self._parent, self._session.start_dir())
        if path is not None:
            self._session.load_model(path)

    def offer_download(self, message: str) -> None:
        """The modeless offer to download the ImageNet weights or choose a file."""
        if self.download_dialog is None:
            dialog = DownloadDialog(self._parent, jobs=self._session.jobs, message=message,
                                    url=self._download_url, directory=self._session.start_dir())
            dialog.weights_ready.connect(self._session.load_model)
            self.download_dialog = dialog
        self.download_dialog.show()
        self.download_dialog.raise_()

    def check_actions(self) -> None:
        """Menus reflect the settings (at start, or after a refused change)."""
        s, a = self._session.settings, self._actions
        a.devices[s.device].setChecked(True)
        a.engines[s.engine].setChecked(True)
        a.topk[s.topk].setChecked(True)
        a.tta.setChecked(s.tta)

    # -- wiring -------------------------------------------------------------------------------

    def _connect(self) -> None:
        a, client = self._actions, self._session.inference
        a.imagenet.triggered.connect(lambda _checked=False: self._session.load_model(None))
        a.open_weights.triggered.connect(lambda _checked=False: self.open_weights_dialog())
        a.device_group.triggered.connect(self._on_device_group_triggered)
        a.engine_group.triggered.connect(self._on_engine_group_triggered)
        a.topk_group.triggered.connect(self._on_topk_group_triggered)
        a.tta.toggled.connect(self._on_tta_toggled)
        client.runtime_reported.connect(self._on_inference_runtime_reported)
        client.model_loaded.connect(self._on_inference_model_loaded)
        client.model_failed.connect(self._on_inference_model_failed)
        client.model_progress.connect(self._on_inference_model_progress)
        client.network_ready.connect(self._on_inference_network_ready)
        client.device_changed.connect(self._on_inference_device_changed)
        client.device_failed.connect(self._on_inference_device_failed)
        self._session.model_loading.connect(self._on_session_model_loading)
        self._session.closing.connect(self._on_session_closing)

    @pyqtSlot(object)
    def _on_session_model_loading(self, _weights: Path | None) -> None:
        self._status.set_model(None, text="Loading model…")
        self._session.post_status("Loading model…", 0)

    @pyqtSlot(QAction)
    def _on_device_group_triggered(self, action: QAction) -> None:
        self._session.update_settings(device=str(action.data()))
        self._session.inference.set_device(self._session.settings.device)

    @pyqtSlot(QAction)
    def _on_engine_group_triggered(self, action: QAction) -> None:
        self._session.update_settings(engine=str(action.data()))
        self._session.post_status(
            "Preparing the engine (the first time converts and times it: seconds)…", 0)
        self._session.inference.set_engine(self._session.settings.engine)

    @pyqtSlot(QAction)
    def _on_topk_group_triggered(self, action: QAction) -> None:
        self._session.update_settings(topk=int(action.data()))
        self._session.resubmit()

    @pyqtSlot(bool)
    def _on_tta_toggled(self, checked: bool) -> None:
        if checked != self._session.settings.tta:
            self._session.update_settings(tta=checked)
            self._session.resubmit()

    @pyqtSlot(object)
    def _on_inference_runtime_reported(self, info: RuntimeInfo) -> None:
        cuda = self._actions.devices["cuda"]
        cuda.setEnabled(info.cuda_available)
        cuda.setToolTip(info.cuda_name or "No CUDA GPU found by torch " + info.torch_version)

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, status: ModelStatus) -> None:
        self._actions.imagenet.setChecked(status.weights is None)
        self._status.set_model(status.info)
        self._predictions.set_model(status.info, official=status.weights is None)
        loaded = f"Loaded {status.info.name} in {status.elapsed_ms:.0f} ms"
        self._show_engine(status, loaded)

    @pyqtSlot(object)
    def _on_inference_model_failed(self, failure: ModelFailure) -> None:
        official = self._session.settings.last_model == ""
        self._status.set_model(failure.current)
        self._predictions.set_model(failure.current, official=official, note="No model loaded")
        self._actions.imagenet.setChecked(self._session.model is not None and official)
        self._session.post_status("The model could not be loaded.")
        if failure.missing_imagenet:
            self.offer_download(failure.message)
        else:
            self._session.post_message(failure.message)

    @pyqtSlot(str)
    def _on_inference_model_progress(self, text: str) -> None:
        """A slow step of the load (the one-time engine conversion): the picture is already up."""
        self._status.set_model(None, text=text)
        self._predictions.set_engine(text)
        self._session.post_status(text, 0)

    @pyqtSlot(object)
    def _on_inference_device_changed(self, status: ModelStatus) -> None:
        self._status.set_model(status.info)
        official = self._session.settings.last_model == ""
        self._predictions.set_model(status.info, official=official)
        self._show_engine(status, f"The model now runs on {status.info.device}")

    @pyqtSlot(object)
    def _on_inference_network_ready(self, status: ModelStatus) -> None:
        """After a fast start the full network has loaded: same model, more it can do."""
        self._on_inference_device_changed(status)

    def _show_engine(self, status: ModelStatus, headline: str) -> None:
        """The engine decision to the status bar, the model panel and the log; a problem the user
        must act on (``note``) to the message bar."""
        headline = status.headline or headline
        if status.engine is not None:
            log.info("%s; engine %s", headline, status.engine)
            self._predictions.set_engine(status.engine)
            self._actions.engine_timings.setText(engine_timings_label(status.timings))
            self._session.post_status(f"{headline}. Engine {status.engine}")
        else:
            self._session.post_status(f"{headline}.")
        if status.note:  # an engine the user chose that cannot be used, and what runs instead
            self._session.post_message(status.note)

    @pyqtSlot(str)
    def _on_inference_device_failed(self, message: str) -> None:
        self._session.post_message(message)
        self.check_actions()

    @pyqtSlot()
    def _on_session_closing(self) -> None:
        if self.download_dialog is not None:
            self.download_dialog.close()
