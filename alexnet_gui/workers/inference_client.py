"""The GUI thread's handle on the inference worker: request numbering and stale-result dropping.

Importing this module costs neither torch nor torchvision (see workers.inference_worker).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from alexnet_gui.messages import (
    BatchFinished,
    BatchItem,
    BatchRequest,
    BatchStarted,
    ClassifyRequest,
    ClassifyResult,
    InspectOptions,
    ModelRequest,
    RequestFailure,
    Source,
)
from alexnet_gui.workers.folder_batch import BatchControl
from alexnet_gui.workers.inference_worker import InferenceWorker, ModelLoader, QuickFinder
from alexnet_gui.workers.pending_slot import PendingSlot

log = logging.getLogger(__name__)


class InferenceClient(QObject):
    """The GUI thread's handle on the worker: starts its thread, numbers requests, drops stale ones.

    Every request leaves through a queued signal (or the one-slot buffer) and every answer comes
    back through one, so the worker never touches a widget and the GUI never waits on a model.

    Signals:
        runtime_reported(RuntimeInfo): whether CUDA is usable, once torch is imported.
        model_loaded(ModelStatus): a model is ready.
        model_failed(ModelFailure): a load failed (``missing_imagenet`` offers the download).
        model_progress(str): a slow step of a load (the one-time engine conversion).
        network_ready(ModelStatus): after a fast start, the full network answers now.
        device_changed(ModelStatus): the model now runs on another device or engine.
        device_failed(str): a device switch was refused.
        prediction_ready(ClassifyResult): the newest result; older ones are dropped here.
        request_failed(RequestFailure): an image failed (stale failures are dropped too).
        batch_started(BatchStarted): the current batch's image list.
        batch_item_ready(BatchItem): one row of the current batch.
        batch_finished(BatchFinished): the current batch ended.
    """

    runtime_reported = pyqtSignal(object)
    model_loaded = pyqtSignal(object)
    model_failed = pyqtSignal(object)
    model_progress = pyqtSignal(str)
    network_ready = pyqtSignal(object)
    device_changed = pyqtSignal(object)
    device_failed = pyqtSignal(str)
    prediction_ready = pyqtSignal(object)
    request_failed = pyqtSignal(object)
    batch_started = pyqtSignal(object)
    batch_item_ready = pyqtSignal(object)
    batch_finished = pyqtSignal(object)
    _model_requested = pyqtSignal(object)
    _device_requested = pyqtSignal(str)
    _engine_requested = pyqtSignal(str)
    _woken = pyqtSignal()
    _batch_requested = pyqtSignal(object)

    def __init__(self, *, loader: ModelLoader | None = None, quick: QuickFinder | None = None,
                 parent: QObject | None = None):
        """``loader`` builds the full Classifier; ``quick`` finds the cached engine that answers
        while it loads (by default the engine cache, unless a test passes its own ``loader``)."""
        super().__init__(parent)
        self.pending = PendingSlot()
        self._control = BatchControl()
        self._thread = QThread()
        self._thread.setObjectName("alexnet-inference")
        self._worker = InferenceWorker(self.pending, self._control, loader, quick)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._model_requested.connect(self._worker._on_client_model_requested)
        self._device_requested.connect(self._worker._on_client_device_requested)
        self._engine_requested.connect(self._worker._on_client_engine_requested)
        self._woken.connect(self._worker._on_client_woken)
        self._batch_requested.connect(self._worker._on_client_batch_requested)
        for name in ("runtime_reported", "model_loaded", "model_failed", "model_progress",
                     "network_ready", "device_changed", "device_failed"):
            getattr(self._worker, name).connect(getattr(self, name))
        self._worker.prediction_ready.connect(self._on_worker_prediction_ready)
        self._worker.request_failed.connect(self._on_worker_request_failed)
        self._worker.batch_started.connect(self._on_worker_batch_event)
        self._worker.batch_item_ready.connect(self._on_worker_batch_event)
        self._worker.batch_finished.connect(self._on_worker_batch_event)
        self._last_id = 0
        self._shown_id = 0
        self._batch_id = 0
        self.stale_dropped = 0

    @property  # shadows QObject.thread() on purpose: the worker's thread, not this object's
    def thread(self) -> QThread:  # type: ignore[override]
        return self._thread

    def start(self) -> None:
        if not self._thread.isRunning():
            self._thread.start()

    def load_model(
        self, weights: Path | None, *, device: str = "auto", engine: str = "auto"
    ) -> None:
        """Load ``weights`` (``None``: ImageNet); the current model serves until it is ready."""
        self._model_requested.emit(ModelRequest(weights, device, engine))

    def set_device(self, device: str) -> None:
        self._device_requested.emit(device)

    def set_engine(self, engine: str) -> None:
        self._engine_requested.emit(engine)

    def submit(self, source: Source, *, topk: int = 5, tta: bool = False,
               inspect: InspectOptions | None = None) -> int:
        """Queue one image, replacing any request still waiting; returns its request id.

        ``inspect`` asks for the "Inside the network" views drawn with these options (``None``:
        none); they travel with the request, so its result is drawn with them and no others.
        """
        self._last_id += 1
        self.pending.put(ClassifyRequest(self._last_id, source, topk, tta, inspect))
        self._woken.emit()
        return self._last_id

    def start_batch(self, paths: list[Path] | tuple[Path, ...], *, tta: bool = False) -> int:
        """Classify the images of ``paths`` in the background; the previous batch is cancelled."""
        self._batch_id += 1
        self._control.want(self._batch_id)
        self._batch_requested.emit(BatchRequest(self._batch_id, tuple(paths), tta))
        return self._batch_id

    def cancel_batch(self) -> None:
        self._control.want(0)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel the batch, drop the waiting request, stop the thread; ``True`` if it stopped."""
        self.cancel_batch()
        self.pending.take()
        # A full network still loading beside the quick engine is not waited for: importing
        # torch cannot be interrupted, and quitting should not take seconds. Its thread is a
        # daemon, and what it loads is dropped, never handed to the worker deleted below.
        self._worker.models.abandon()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            log.error("the inference thread did not stop within %d ms", timeout_ms)
        self._worker.models.abandon()  # one a last model request may have made meanwhile
        return stopped

    @pyqtSlot(object)
    def _on_worker_prediction_ready(self, result: ClassifyResult) -> None:
        if self._is_stale(result.request_id):
            return
        self.prediction_ready.emit(result)

    @pyqtSlot(object)
    def _on_worker_request_failed(self, failure: RequestFailure) -> None:
        if self._is_stale(failure.request_id):
            return
        self.request_failed.emit(failure)

    @pyqtSlot(object)
    def _on_worker_batch_event(self, event: BatchStarted | BatchItem | BatchFinished) -> None:
        if event.batch_id != self._batch_id:
            return  # a cancelled or replaced batch
        signal = {BatchStarted: self.batch_started, BatchFinished: self.batch_finished}
        signal.get(type(event), self.batch_item_ready).emit(event)

    def _is_stale(self, request_id: int) -> bool:
        """Older than what is already on screen: showing it would step back in time."""
        if request_id < self._shown_id:
            self.stale_dropped += 1
            return True
        self._shown_id = request_id
        return False
