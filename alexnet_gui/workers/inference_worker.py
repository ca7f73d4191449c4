"""The inference worker: one long-lived QObject on a QThread that owns the model.

Why one worker: AlexNet is 61M parameters (about 240 MB); a second copy for the folder batch
would double that and fight the single-image requests for the same CPU cores anyway. So the batch
runs here too, a chunk of images at a time; a single-image request waiting in the one-slot buffer
is served before each chunk and cuts the current chunk short, so the picture the user asked for
never waits behind a folder.

Instant start (``workers.model_holder``): when the engine cache holds an engine for the weights,
it answers at once, torch-free, while the full network loads beside it; what needs torch (the
inside views, Grad-CAM) gets the quick top-k now and is answered again, the newest
request only, once the network is there. Importing this module costs neither torch nor
torchvision.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, Qt, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.messages import (
    BatchFinished,
    BatchRequest,
    BatchStarted,
    ClassifyRequest,
    ClassifyResult,
    FileSource,
    FrameSource,
    InsideViews,
    ModelRequest,
    ModelStatus,
    RequestFailure,
    RuntimeInfo,
)
from alexnet_gui.workers.folder_batch import BatchControl, RecentAnswer
from alexnet_gui.workers.model_holder import ModelHolder
from alexnet_gui.workers.model_loading import ModelLoader, QuickFinder, QuickModel, load_classifier
from alexnet_gui.workers.pending_slot import PendingSlot
from alexnet_gui.workers.picture_loader import decode_source
from alexnet_gui.workers.quick_batch import QuickFolderBatch

if TYPE_CHECKING:  # for annotations only: importing them costs torch
    from PIL.Image import Image

    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.results import Prediction
    from alexnet_gui.core.visualize.inspector import NetworkInspector

__all__ = ["InferenceWorker", "ModelLoader", "PendingSlot", "QuickFinder", "load_classifier"]

log = logging.getLogger(__name__)

#: The holder's signals the worker passes on as its own.
MODEL_SIGNALS = ("runtime_reported", "model_loaded", "model_failed", "model_progress",
                 "network_ready", "device_changed", "device_failed")


class InferenceWorker(QObject):
    """Owns the model (a :class:`ModelHolder`); decodes, classifies and batches in its thread.

    Its public methods run synchronously (unit tests call them directly); the ``_on_client_*``
    slots are what the :class:`InferenceClient` reaches through queued signals.

    Signals:
        runtime_reported(RuntimeInfo): torch is imported; whether CUDA is usable.
        model_loaded(ModelStatus): a model is ready (replacing any previous one); after a fast
            start, the quick engine (``engine`` says so).
        model_failed(ModelFailure): a load failed; the previous model, if any, stays.
        model_progress(str): a slow step of a load is under way (the one-time conversion).
        network_ready(ModelStatus): after a fast start, the full network answers now (CPU).
        device_changed(ModelStatus): the model moved to another device (after a fast start: the
            GPU is ready), or changed engine.
        device_failed(str): a device switch was refused; the model stayed where it was.
        prediction_ready(ClassifyResult): one image decoded and (if a model is loaded) classified.
        request_failed(RequestFailure): one image could not be decoded or classified.
        batch_started(BatchStarted): the images a batch will classify.
        batch_item_ready(BatchItem): one image of a batch.
        batch_finished(BatchFinished): a batch ended, completed or not.
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
    _chunk_scheduled = pyqtSignal()

    def __init__(self, pending: PendingSlot, control: BatchControl,
                 loader: ModelLoader | None = None, quick: QuickFinder | None = None) -> None:
        super().__init__()
        self._pending = pending
        self._control = control
        self.models = ModelHolder(loader, quick, parent=self)
        for name in MODEL_SIGNALS:
            getattr(self.models, name).connect(getattr(self, name))
        self.models.network_taken.connect(self._on_models_network_taken)
        self._held: ClassifyRequest | None = None  # the newest request that needs the network
        self._answered = 0  # the id of the newest request answered
        self._batch: QuickFolderBatch | None = None
        self._inspector: NetworkInspector | None = None  # made by the first inspect request
        # the stub's connect() lacks PyQt5's `type` argument
        self._chunk_scheduled.connect(self._on_self_chunk_scheduled,  # type: ignore[call-arg]
                                      Qt.ConnectionType.QueuedConnection)
        #: A file opened alone is also a one-row batch: its row reuses the single answer.
        self._recent = RecentAnswer()

    @property
    def classifier(self) -> Classifier | None:
        return self.models.classifier

    @property
    def quick(self) -> QuickModel | None:
        """The cached engine answering while the full network loads; ``None`` otherwise."""
        return self.models.quick

    # -- model and device ---------------------------------------------------------------------

    def runtime(self) -> RuntimeInfo:
        return self.models.runtime()

    def load_model(self, request: ModelRequest) -> None:
        self.models.load_model(request)

    def set_device(self, name: str) -> None:
        self.models.set_device(name)

    def set_engine(self, name: str) -> None:
        self.models.set_engine(name)

    # -- single images ------------------------------------------------------------------------

    def process_pending(self) -> None:
        """Run the newest waiting request, if any (older ones were replaced in the slot)."""
        request = self._pending.take()
        if request is not None:
            self.classify(request)

    def classify(self, request: ClassifyRequest) -> None:
        source = request.source
        path = source.path if isinstance(source, FileSource) else None
        start = time.perf_counter()
        try:
            image = decode_source(source)
            from alexnet_gui.core.imaging.decode import display_array

            display = display_array(image)
        except Exception as exc:
            self._fail(request, path, exc)
            return
        decode_ms = (time.perf_counter() - start) * 1000.0
        if not isinstance(source, FrameSource) and self._pending.waiting():
            return  # a newer file is waiting: skip the forward pass, nobody will see it
        self._answered = request.request_id
        classifier = self.models.classifier
        if classifier is None and self.models.quick is not None:
            self._classify_quickly(request, image, display, decode_ms)
            return
        if classifier is None:
            message = "No model loaded: choose weights in the Model menu."
            self.prediction_ready.emit(
                ClassifyResult(request.request_id, source.name, path, display, None, None,
                               decode_ms=decode_ms, message=message)
            )
            return
        options = request.inspect
        if options is not None and self._inspector is None:
            from alexnet_gui.core.visualize.inspector import NetworkInspector

            self._inspector = NetworkInspector()  # keeps conv1's grid and the last Grad-CAM
        inspector = self._inspector

        def forward() -> tuple[Prediction, InsideViews | None]:
            if options is not None and inspector is not None:  # drawn with this request's options
                return inspector.look(classifier, image, options, topk=request.topk,
                                      tta=request.tta, frame=isinstance(source, FrameSource),
                                      display=display)
            # A camera frame's array takes the engines' fast pre-processing path.
            frame = isinstance(source, FrameSource) and display.shape[1] == image.width
            return classifier.classify(
                display if frame else image, topk=request.topk, tta=request.tta
            ), None

        try:
            from alexnet_gui.core.inference.fallback import run_with_oom_fallback

            (prediction, views), note = run_with_oom_fallback(classifier, forward)
        except Exception as exc:
            self._fail(request, path, exc)
            return
        if note is not None:  # the GPU ran out of memory: the model is on the CPU now
            self.device_changed.emit(ModelStatus(classifier.info, self.models.weights, note=note))
        if classifier.engine.messages:  # the engine failed and PyTorch took over
            self.models.report_engine()
        if path is not None and views is None:  # the engine's answer (views come from PyTorch)
            self._recent.remember(path, classifier, prediction.tta, prediction.top1)
        self.prediction_ready.emit(
            ClassifyResult(request.request_id, source.name, path, display, prediction,
                           classifier.info, decode_ms=decode_ms, views=views)
        )

    def _classify_quickly(self, request: ClassifyRequest, image: Image, display: np.ndarray,
                          decode_ms: float) -> None:
        """The quick engine's top-k now; a request for the inside views waits for them too."""
        quick = self.models.quick
        assert quick is not None, "called only while the quick engine answers"
        self._held = request if request.inspect is not None else None
        source = request.source
        path = source.path if isinstance(source, FileSource) else None
        try:
            prediction = quick.classify(image, top_k=request.topk, tta=request.tta)
        except Exception as exc:
            self._fail(request, path, exc)
            return
        if path is not None:
            self._recent.remember(path, quick, request.tta, prediction.top1)  # type: ignore[arg-type]
        self.prediction_ready.emit(
            ClassifyResult(request.request_id, source.name, path, display, prediction,
                           quick.model_info(), decode_ms=decode_ms,
                           views_pending=request.inspect is not None)
        )

    def _fail(self, request: ClassifyRequest, path: Path | None, exc: Exception) -> None:
        if not isinstance(exc, UserFacingError):
            log.exception("request %d (%s) failed", request.request_id, request.source.name)
        message = str(exc) if isinstance(exc, UserFacingError) else f"Unexpected error: {exc!r}"
        self.request_failed.emit(
            RequestFailure(request.request_id, request.source.name, path, message)
        )

    # -- folder batches -----------------------------------------------------------------------

    def start_batch(self, request: BatchRequest) -> None:
        """List the images, announce them, then classify them a chunk per event-loop turn."""
        if self._batch is not None:
            self._end_batch(self._batch.cancel())
        batch = QuickFolderBatch(request, self._control)
        self.batch_started.emit(BatchStarted(request.batch_id, batch.paths))
        if not batch.paths:
            self._end_batch(batch.refuse("No images found."))
        elif not self.models.loaded:
            self._end_batch(batch.refuse("No model loaded: the images are listed, not classified."))
        else:
            self._batch = batch
            self._chunk_scheduled.emit()

    def run_batch_chunk(self) -> bool:
        """Serve a waiting single image, then one chunk of the batch; ``True`` while it has more."""
        self.process_pending()
        batch = self._batch
        if batch is None:
            return False
        classifier = self.models.classifier
        model = classifier if classifier is not None else self.models.quick
        if model is None:
            return False
        for item in batch.step(model, interrupted=self._pending.waiting, known=self._recent):
            self.batch_item_ready.emit(item)
        if batch.note is not None and classifier is not None:  # out of GPU memory: on the CPU
            self.device_changed.emit(ModelStatus(classifier.info, self.models.weights,
                                                 note=batch.note))
            batch.note = None
        if batch.summary is None:
            return True
        self._end_batch(batch.summary)
        return False

    def _end_batch(self, summary: BatchFinished) -> None:
        self._batch = None
        self.batch_finished.emit(summary)

    # -- slots --------------------------------------------------------------------------------

    @pyqtSlot(object)
    def _on_client_model_requested(self, request: ModelRequest) -> None:
        self._held = None
        self.load_model(request)

    @pyqtSlot(str)
    def _on_client_device_requested(self, name: str) -> None:
        self.set_device(name)

    @pyqtSlot(str)
    def _on_client_engine_requested(self, name: str) -> None:
        self.set_engine(name)

    @pyqtSlot()
    def _on_client_woken(self) -> None:
        self.process_pending()

    @pyqtSlot(object)
    def _on_client_batch_requested(self, request: BatchRequest) -> None:
        self.start_batch(request)

    @pyqtSlot()
    def _on_self_chunk_scheduled(self) -> None:
        if self.run_batch_chunk():
            self._chunk_scheduled.emit()

    @pyqtSlot()
    def _on_models_network_taken(self) -> None:
        """Answer the newest request that waited for the network; go on with a waiting batch."""
        held, self._held = self._held, None
        if held is not None and held.request_id == self._answered and not self._pending.waiting():
            self.classify(held)
        if self._batch is not None:
            self._chunk_scheduled.emit()
