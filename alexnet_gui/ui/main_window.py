"""The main window: wires the panels, the menus and the inference worker together.

It holds no model and decodes no image: requests go to the worker's client, results come back as
frozen dataclasses and are painted. Colleagues' features plug in through :meth:`add_dock`,
:meth:`add_menu`, :meth:`submit_frame`, :meth:`set_inspect`, :attr:`result_shown`,
:attr:`image_opened` and :attr:`closing`. Cameras and videos are wired in ``ui/live.py``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QSettings, Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PyQt5.QtWidgets import (
    QAction,
    QApplication,
    QDialog,
    QDockWidget,
    QMainWindow,
    QMenu,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui import APP_NAME, excepthook
from alexnet_gui.core.results import ModelInfo
from alexnet_gui.messages import (
    BatchFinished,
    BatchItem,
    BatchStarted,
    ClassifyResult,
    FrameSource,
    ModelFailure,
    ModelStatus,
    RequestFailure,
    RuntimeInfo,
    Source,
)
from alexnet_gui.settings import Settings, save_settings
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.actions import Actions
from alexnet_gui.ui.browse.batch_panel import BatchPanel
from alexnet_gui.ui.browse.collection import PAGE, Collection
from alexnet_gui.ui.browse.controller import CommandsMixin
from alexnet_gui.ui.browse.sources import clipboard_content, offers_content
from alexnet_gui.ui.live.controller import LiveController
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.message_bar import MessageBar
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields

if TYPE_CHECKING:  # handed in by alexnet_gui.app; at run time the UI imports only messages
    from alexnet_gui.workers.capture_client import CaptureClient
    from alexnet_gui.workers.inference_client import InferenceClient
    from alexnet_gui.workers.jobs import JobRunner


class MainWindow(CommandsMixin, QMainWindow):
    """Menus, tool bar, status bar, the picture, the predictions and the folder panel.

    Signals:
        result_shown(ClassifyResult): a result is now on screen (``views`` for the inside panel).
        image_opened(): the user opened a still image (file, folder, paste, drop); streams stop.
        closing(): the window is closing; stop cameras and the like before the worker stops.
    """

    result_shown = pyqtSignal(object)
    image_opened = pyqtSignal()
    closing = pyqtSignal()

    def __init__(self, *, settings: Settings, store: QSettings, inference: InferenceClient,
                 jobs: JobRunner, capture: CaptureClient, download_url: str | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.settings, self._store = settings, store
        self.inference, self.jobs, self.download_url = inference, jobs, download_url
        self.collection = Collection()
        self.result: ClassifyResult | None = None
        self.model: ModelInfo | None = None
        self.download_dialog: QDialog | None = None
        self._source: Source | None = None
        self._inspect = False
        self._load_seq = self._source_seq = self._batch_seq = 0
        self._show_when_listed = False
        self._closed = False
        self.view, self.messages, self.predictions = ImageView(), MessageBar(), PredictionsPanel()
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.view)
        side = QScrollArea()  # ten bars and the model box must not set the window's height
        side.setWidget(self.predictions)
        side.setWidgetResizable(True)
        side.setFrameShape(QScrollArea.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.messages)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.actions_ = Actions(self)
        self.batch = BatchPanel()
        self.folder_dock = self.add_dock(self.batch, "Folder", object_name="folderDock",
                                         area=Qt.BottomDockWidgetArea)
        self.status = StatusFields(self.statusBar())
        self.live = LiveController(self, capture)
        self._connect()
        self.restore_settings()
        excepthook.add_reporter(self.messages.show_message)

    # -- extension points ---------------------------------------------------------------------

    def add_dock(self, widget: QWidget, title: str, *, object_name: str,
                 area: Qt.DockWidgetArea = Qt.RightDockWidgetArea,
                 hidden: bool = False) -> QDockWidget:
        """Add a panel; its toggle goes to the View menu and its place is saved in settings.

        ``hidden``: start hidden unless the saved layout shows it.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        # A dock added after restoreState() gets its saved place; addDockWidget() first would
        # drop that place, so it is only the fallback for a dock the layout does not know.
        if not self.restoreDockWidget(dock):
            self.addDockWidget(area, dock)
            dock.setHidden(hidden)
        self.actions_.menus["view"].addAction(dock.toggleViewAction())
        return dock

    def add_menu(self, title: str) -> QMenu:
        """A new top-level menu before Help (Camera, Video...)."""
        menu = QMenu(title, self)
        self.menuBar().insertMenu(self.actions_.menus["help"].menuAction(), menu)
        return menu

    def submit_frame(self, frame: np.ndarray, *, name: str = "camera", bgr: bool = False) -> int:
        """Classify an RGB (or BGR) frame; a newer frame replaces one still waiting."""
        return self.submit(FrameSource(frame, name, bgr))

    def set_inspect(self, enabled: bool) -> None:
        """Ask the worker for ``views`` (via its inspector) with every result from now on."""
        self._inspect = enabled
        self.resubmit()

    # -- settings, drag and drop, close -------------------------------------------------------

    def update_settings(self, **changes: object) -> None:
        self.settings = self.settings.replace(**changes)
        save_settings(self.settings, self._store)
        self.rebuild_recent_menu()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if offers_content(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.open_content(clipboard_content(event.mimeData())):
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:  # closed already (the app's aboutToQuit closes it once more)
            super().closeEvent(event)
            return
        self._closed = True
        self.closing.emit()
        if self.download_dialog is not None:
            self.download_dialog.close()
        self.inference.shutdown()
        self.jobs.shutdown()
        self.save_window_state()
        excepthook.remove_reporter(self.messages.show_message)
        super().closeEvent(event)

    # -- wiring -------------------------------------------------------------------------------

    def _connect(self) -> None:
        a, client = self.actions_, self.inference
        for action, slot in (
            (a.open_files, self.open_files_dialog), (a.open_folder, self.open_folder_dialog),
            (a.export_result, self.export_result), (a.export_csv, self.export_csv),
            (a.quit, self.close), (a.clear_recent, self.clear_recent), (a.paste, self.paste),
            (a.full_screen, self.toggle_full_screen), (a.dismiss_messages, self.messages.dismiss),
            (a.imagenet, functools.partial(self.load_model, None)),
            (a.open_weights, self.open_weights_dialog),
            (a.about, functools.partial(dialogs.show_about, self)),
            (a.about_qt, QApplication.aboutQt),
        ):
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        for action, step in ((a.previous, -1), (a.next, 1), (a.page_up, -PAGE),
                             (a.page_down, PAGE), (a.first, -10**9), (a.last, 10**9)):
            action.triggered.connect(functools.partial(self.navigate, step))
        a.device_group.triggered.connect(self._on_device_group_triggered)
        a.engine_group.triggered.connect(self._on_engine_group_triggered)
        a.topk_group.triggered.connect(self._on_topk_group_triggered)
        a.tta.toggled.connect(self._on_tta_toggled)
        self.batch.row_selected.connect(self._on_batch_row_selected)
        self.batch.cancel_requested.connect(client.cancel_batch)
        self.batch.export_requested.connect(self.export_csv)
        client.runtime_reported.connect(self._on_inference_runtime_reported)
        client.model_loaded.connect(self._on_inference_model_loaded)
        client.model_failed.connect(self._on_inference_model_failed)
        client.device_changed.connect(self._on_inference_device_changed)
        client.device_failed.connect(self._on_inference_device_failed)
        client.prediction_ready.connect(self._on_inference_prediction_ready)
        client.request_failed.connect(self._on_inference_request_failed)
        client.batch_started.connect(self._on_inference_batch_started)
        client.batch_item_ready.connect(self._on_inference_batch_item_ready)
        client.batch_finished.connect(self._on_inference_batch_finished)

    @pyqtSlot(QAction)
    def _on_device_group_triggered(self, action: QAction) -> None:
        self.update_settings(device=str(action.data()))
        self.inference.set_device(self.settings.device)

    @pyqtSlot(QAction)
    def _on_engine_group_triggered(self, action: QAction) -> None:
        self.update_settings(engine=str(action.data()))
        self.statusBar().showMessage("Preparing the engine (the first time takes seconds)…")
        self.inference.set_engine(self.settings.engine)

    @pyqtSlot(QAction)
    def _on_topk_group_triggered(self, action: QAction) -> None:
        self.update_settings(topk=int(action.data()))
        self.resubmit()

    @pyqtSlot(bool)
    def _on_tta_toggled(self, checked: bool) -> None:
        if checked != self.settings.tta:
            self.update_settings(tta=checked)
            self.resubmit()

    @pyqtSlot(int)
    def _on_batch_row_selected(self, row: int) -> None:
        if self.collection.go(row) is not None:
            self.show_current()

    @pyqtSlot(object)
    def _on_inference_runtime_reported(self, info: RuntimeInfo) -> None:
        cuda = self.actions_.devices["cuda"]
        cuda.setEnabled(info.cuda_available)
        cuda.setToolTip(info.cuda_name or "No CUDA GPU found by torch " + info.torch_version)

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, status: ModelStatus) -> None:
        self.model = status.info
        self.update_settings(last_model=str(status.weights or ""))
        self.actions_.imagenet.setChecked(status.weights is None)
        self.status.set_model(status.info)
        self.predictions.set_model(status.info, official=status.weights is None)
        self.statusBar().showMessage(f"Loaded {status.info.name} in {status.elapsed_ms:.0f} ms",
                                     5000)
        if status.note:
            self.messages.show_message(status.note)
        if self._source is not None and self._source_seq < self._load_seq:
            self.resubmit()
        if len(self.collection) and self._batch_seq < self._load_seq:
            self.start_batch(self.collection.paths)

    @pyqtSlot(object)
    def _on_inference_model_failed(self, failure: ModelFailure) -> None:
        self.status.set_model(failure.current)
        self.predictions.set_model(failure.current, official=self.settings.last_model == "",
                                   note="No model loaded")
        self.actions_.imagenet.setChecked(self.model is not None and self.settings.last_model == "")
        self.statusBar().showMessage("The model could not be loaded.", 5000)
        if failure.missing_imagenet:
            self.offer_download(failure.message)
        else:
            self.messages.show_message(failure.message)

    @pyqtSlot(object)
    def _on_inference_device_changed(self, status: ModelStatus) -> None:
        self.model = status.info
        self.status.set_model(status.info)
        self.predictions.set_model(status.info, official=self.settings.last_model == "")
        self.statusBar().showMessage(f"The model now runs on {status.info.device}.", 5000)
        if status.note:  # an engine that could not be used, and what runs instead
            self.messages.show_message(status.note)
        self.resubmit()

    @pyqtSlot(str)
    def _on_inference_device_failed(self, message: str) -> None:
        self.messages.show_message(message)
        self.check_actions()

    @pyqtSlot(object)
    def _on_inference_prediction_ready(self, result: ClassifyResult) -> None:
        self.result = result
        prediction = result.prediction
        caption = f"AlexNet · {result.model.name}" if result.model is not None else None
        scores = prediction.scores if prediction else ()
        if self.live.showing:  # a newer frame is on screen: keep it, change only the overlay
            self.view.show_scores(scores, caption=caption)
        else:
            self.view.show_image(result.image, scores, caption=caption)
        self.predictions.set_prediction(prediction, message=result.message)
        self.status.set_prediction(prediction, result.decode_ms)
        self.setWindowTitle(f"{result.name} - {APP_NAME}")
        done = f"{result.name}: {prediction.top1.label}" if prediction else result.message or ""
        self.statusBar().showMessage(done, 5000)
        self.result_shown.emit(result)

    @pyqtSlot(object)
    def _on_inference_request_failed(self, failure: RequestFailure) -> None:
        self.messages.show_message(failure.message)
        live_frame = failure.path is None and self.live.showing  # keep the stream's picture
        if not live_frame and (failure.path is None or failure.path == self.collection.current):
            self.result = None
            self.view.show_text(failure.message)
            self.predictions.set_prediction(None, message="This image could not be read.")
            self.setWindowTitle(f"{failure.name} - {APP_NAME}")

    @pyqtSlot(object)
    def _on_inference_batch_started(self, started: BatchStarted) -> None:
        current = self.collection.current
        index = started.paths.index(current) if current in started.paths else 0
        self.collection.set(started.paths, index)
        self.batch.set_paths(started.paths, running=self.model is not None)
        if self._show_when_listed:
            self._show_when_listed = False
            self.show_current()
        self.batch.select_row(self.collection.index)

    @pyqtSlot(object)
    def _on_inference_batch_item_ready(self, item: BatchItem) -> None:
        self.batch.add_item(item)
        if item.error is not None and item.path != self.collection.current:
            self.messages.show_message(item.error)

    @pyqtSlot(object)
    def _on_inference_batch_finished(self, finished: BatchFinished) -> None:
        self.batch.finish(finished)
        if finished.total == 0:
            self.messages.show_message("No images found in what was opened.")
