"""Compare mode: a second model's top-k for the picture on screen, in a dock beside the first.

Model > Compare With… loads a second weights file (say, ImageNet against the checkpoint you
fine-tuned) into a second ``InferenceClient`` with a worker thread
of its own, so the main model is never slowed by it; newest-wins holds there as in the main
worker. The second model follows the main result: each picture the window shows is sent to it
once. On a live stream it follows at most :data:`LIVE_RATE` frames a second, and the last frame
before a freeze or a stop is always compared. Stop Comparing, or closing the dock, shuts the second
worker down and frees its model.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QDockWidget, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from alexnet_gui.messages import (
    ClassifyResult,
    FileSource,
    FrameSource,
    ModelFailure,
    ModelStatus,
    RequestFailure,
)
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.session import Session
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.predictions import PredictionsPanel

if TYPE_CHECKING:
    from alexnet_gui.workers.inference_client import InferenceClient

LIVE_RATE = 2.0  # comparisons per second on a live stream
DOCK_NAME = "compareDock"
HINT = "Choose a second model with Model > Compare With… to see its top classes here."


class ComparePanel(QWidget):
    """A heading that names what is compared, the second model's bars and its model box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comparePanel")
        self.heading = QLabel(HINT)
        self.heading.setWordWrap(True)
        self.predictions = PredictionsPanel()
        self.stop_button = QPushButton("Stop comparing")
        self.stop_button.setToolTip("Unload the second model and close this panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addWidget(self.predictions, 1)
        layout.addWidget(self.stop_button)


class CompareController(QObject):
    """Owns the second client while comparing; connects it to the session and the panel.

    Signals:
        compared(ClassifyResult): the second model's result for the picture is in the panel.
    """

    compared = pyqtSignal(object)

    def __init__(self, session: Session, *, panel: ComparePanel, dock: QDockWidget, menu: QMenu,
                 view: ImageView, make_client: Callable[[], InferenceClient],
                 dialog_parent: QWidget) -> None:
        super().__init__(session)
        self._session, self._view, self._make_client = session, view, make_client
        self._parent = dialog_parent
        self.client: InferenceClient | None = None
        self.model: ModelStatus | None = None
        self.panel, self.dock = panel, dock
        menu.addSeparator()
        self.compare_action = present(menu.addAction("&Compare With…"))
        self.compare_action.setStatusTip("Show a second model's top classes for the same picture")
        self.stop_action = present(menu.addAction("&Stop Comparing"))
        self.stop_action.setEnabled(False)
        self.panel.stop_button.setEnabled(False)
        self._pending: ClassifyResult | None = None  # a live result waiting for its turn
        self._last_live = -1e9
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.compare_action.triggered.connect(self._on_compare_action_triggered)
        self.stop_action.triggered.connect(self._on_stop_action_triggered)
        self.panel.stop_button.clicked.connect(self._on_stop_action_triggered)
        self.dock.visibilityChanged.connect(self._on_dock_visibility_changed)
        session.result_shown.connect(self._on_session_result_shown)
        session.inference.device_changed.connect(self._on_inference_device_changed)
        session.closing.connect(self.stop)

    def compare_with(self, weights: Path) -> None:
        """Load ``weights`` as the second model (starting its worker the first time)."""
        if self.client is None:
            client = self._make_client()
            client.model_loaded.connect(self._on_client_model_loaded)
            client.model_failed.connect(self._on_client_model_failed)
            client.prediction_ready.connect(self._on_client_prediction_ready)
            client.request_failed.connect(self._on_client_request_failed)
            client.start()
            self.client = client
        self.client.load_model(weights, device=self._session.settings.device)
        self.panel.heading.setText(f"Loading {html.escape(weights.name)}…")
        self.stop_action.setEnabled(True)
        self.panel.stop_button.setEnabled(True)
        self.dock.show()
        self.dock.raise_()

    def stop(self) -> None:
        """Shut the second worker down (its model goes with it) and hide the panel."""
        client, self.client, self.model, self._pending = self.client, None, None, None
        self._timer.stop()
        if client is not None:
            client.shutdown()
            client.deleteLater()
        self.panel.heading.setText(HINT)
        self.panel.predictions.set_prediction(None)
        self.panel.predictions.set_model(None)
        self.stop_action.setEnabled(False)
        self.panel.stop_button.setEnabled(False)
        self.dock.hide()

    def _submit(self, result: ClassifyResult) -> None:
        if self.client is None or self.model is None:
            return
        source = (FileSource(result.path) if result.path is not None
                  else FrameSource(result.image, result.name))
        settings = self._session.settings
        self.client.submit(source, topk=settings.topk, tta=settings.tta)

    @pyqtSlot()
    def _on_compare_action_triggered(self) -> None:
        path = dialogs.open_weights(self._parent, self._session.start_dir())
        if path is not None:
            self.compare_with(path)

    @pyqtSlot()
    def _on_stop_action_triggered(self) -> None:
        self.stop()

    @pyqtSlot(bool)
    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if not visible and self.dock.isHidden() and self.client is not None:
            self.stop()  # closed with its title-bar button or the View menu, not just tabbed away

    @pyqtSlot(object)
    def _on_session_result_shown(self, result: ClassifyResult) -> None:
        if self.client is None or result.prediction is None:
            return
        if not self._view.showing_live:
            self._submit(result)
            return
        self._pending = result
        wait = 1.0 / LIVE_RATE - (time.monotonic() - self._last_live)
        if not self._timer.isActive():
            self._timer.start(max(0, round(wait * 1000)))

    @pyqtSlot()
    def _on_timer_timeout(self) -> None:
        result, self._pending = self._pending, None
        if result is not None:
            self._last_live = time.monotonic()
            self._submit(result)

    @pyqtSlot(object)
    def _on_inference_device_changed(self, _status: ModelStatus) -> None:
        if self.client is not None:
            self.client.set_device(self._session.settings.device)

    @pyqtSlot(object)
    def _on_client_model_loaded(self, status: ModelStatus) -> None:
        self.model = status
        self.panel.predictions.set_model(status.info)
        self.panel.heading.setText(f"<b>{html.escape(status.info.name)}</b> on the same picture")
        result = self._session.result
        if result is not None and result.prediction is not None:
            self._submit(result)

    @pyqtSlot(object)
    def _on_client_model_failed(self, failure: ModelFailure) -> None:
        self._session.post_message(f"Compare: {failure.message}")
        if self.model is None:
            self.panel.heading.setText(f"Could not load the second model: "
                                       f"{html.escape(failure.message)}")

    @pyqtSlot(object)
    def _on_client_prediction_ready(self, result: ClassifyResult) -> None:
        self.panel.predictions.set_prediction(result.prediction, message=result.message)
        if result.model is not None:
            name, picture = html.escape(result.model.name), html.escape(result.name)
            self.panel.heading.setText(f"<b>{name}</b> on {picture}")
        self.compared.emit(result)

    @pyqtSlot(object)
    def _on_client_request_failed(self, failure: RequestFailure) -> None:
        self.panel.predictions.set_prediction(None, message=failure.message)
