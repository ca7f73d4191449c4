"""The inference worker: one long-lived QObject on a QThread that owns the Classifier.

Why one worker: AlexNet is 61M parameters (about 240 MB); a second copy for the folder batch
would double that and fight the single-image requests for the same CPU cores anyway. So the batch
runs here too, a chunk of images at a time; a single-image request waiting in the one-slot buffer
is served before each chunk and cuts the current chunk short, so the picture the user asked for
never waits behind a folder.

Importing this module costs neither torch nor torchvision: the classifier and the weights loader
are imported inside the worker thread, when the first model is loaded.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, Qt, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import UserFacingError, WeightsNotFoundError
from alexnet_gui.messages import (
    BatchFinished,
    BatchRequest,
    BatchStarted,
    BytesSource,
    ClassifyRequest,
    ClassifyResult,
    FileSource,
    FrameSource,
    InsideViews,
    ModelFailure,
    ModelRequest,
    ModelStatus,
    RequestFailure,
    RuntimeInfo,
    Source,
)
from alexnet_gui.workers.folder_batch import BatchControl, FolderBatch, RecentAnswer
from alexnet_gui.workers.pending_slot import PendingSlot

if TYPE_CHECKING:  # for annotations only: importing them costs torch
    from PIL.Image import Image

    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.results import Prediction
    from alexnet_gui.core.visualize.inspector import NetworkInspector

log = logging.getLogger(__name__)

#: ``(weights or None for ImageNet, device) -> Classifier``; tests inject a caching one.
ModelLoader = Callable[[Path | None, str], "Classifier"]


def load_classifier(weights: Path | None, device: str) -> Classifier:
    """The default loader: core.models.weights + the classifier, imported in the worker thread.

    The official ImageNet file, passed by path (after a download), is loaded as ImageNet so that
    it gets its real name and metadata rather than those of an anonymous state_dict.
    """
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.models.weights import (
        find_imagenet_weights,
        imagenet_file_name,
        load_weights,
    )

    if weights is not None and weights.name == imagenet_file_name():
        found = find_imagenet_weights()
        if found is not None and found.resolve() == weights.resolve():
            weights = None
    return Classifier(load_weights(weights), device=device)


def _leave_a_core_free() -> None:
    """Run the model on one core fewer than the machine has (called in the worker thread).

    torch's intra-op threads meet at a barrier after every layer, so one of them preempted by
    the GUI, the capture thread or another program stalls them all. On a busy two-core machine
    AlexNet's batch-1 forward pass took 20-30 ms on one thread but 90-220 ms on two, and with a
    video playing the GUI froze for up to 160 ms (``benchmarks/live.py``). On eight cores, seven
    threads lose next to nothing. ``OMP_NUM_THREADS`` still wins.
    """
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = max(1, (cores or 1) - 1)
    if torch.get_num_threads() > wanted:
        torch.set_num_threads(wanted)


class InferenceWorker(QObject):
    """Owns the Classifier; decodes, classifies and batches in its own thread.

    Its public methods run synchronously (unit tests call them directly); the ``_on_client_*``
    slots are what the :class:`InferenceClient` reaches through queued signals.

    Signals:
        runtime_reported(RuntimeInfo): torch is imported; whether CUDA is usable.
        model_loaded(ModelStatus): a model is ready (replacing any previous one).
        model_failed(ModelFailure): a load failed; the previous model, if any, stays.
        device_changed(ModelStatus): the model moved to another device, or changed engine.
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
    device_changed = pyqtSignal(object)
    device_failed = pyqtSignal(str)
    prediction_ready = pyqtSignal(object)
    request_failed = pyqtSignal(object)
    batch_started = pyqtSignal(object)
    batch_item_ready = pyqtSignal(object)
    batch_finished = pyqtSignal(object)
    _chunk_scheduled = pyqtSignal()

    def __init__(
        self, pending: PendingSlot, control: BatchControl, loader: ModelLoader | None = None
    ) -> None:
        super().__init__()
        self._pending = pending
        self._control = control
        self._loader = loader or load_classifier
        self._classifier: Classifier | None = None
        self._weights: Path | None = None
        self._runtime: RuntimeInfo | None = None
        self._batch: FolderBatch | None = None
        self._inspector: NetworkInspector | None = None  # made by the first inspect request
        # the stub's connect() lacks PyQt5's `type` argument
        self._chunk_scheduled.connect(self._on_self_chunk_scheduled,  # type: ignore[call-arg]
                                      Qt.ConnectionType.QueuedConnection)
        #: A file opened alone is also a one-row batch: its row reuses the single answer.
        self._recent = RecentAnswer()

    @property
    def classifier(self) -> Classifier | None:
        return self._classifier

    # -- model and device ---------------------------------------------------------------------

    def runtime(self) -> RuntimeInfo:
        """Import torch (once, in this thread) and report what it found."""
        if self._runtime is None:
            import torch

            _leave_a_core_free()
            cuda = bool(torch.cuda.is_available())
            name = torch.cuda.get_device_name(0) if cuda else None
            self._runtime = RuntimeInfo(torch.__version__, cuda, name)
            self.runtime_reported.emit(self._runtime)
        return self._runtime

    def load_model(self, request: ModelRequest) -> None:
        start = time.perf_counter()
        runtime = self.runtime()
        device, note = request.device, None
        if device == "cuda" and not runtime.cuda_available:
            device, note = "cpu", "CUDA is not available on this machine; using the CPU."
        try:
            classifier = self._loader(request.weights, device)
            # Seconds the first time for these weights (conversion, timing), then the cache's.
            engine = classifier.set_engine(request.engine)
            note = " ".join(filter(None, (note, engine.take_message()))) or None
        except Exception as exc:
            if not isinstance(exc, UserFacingError):
                log.exception("loading %s failed", request.weights or "the ImageNet weights")
            current = self._classifier.info if self._classifier is not None else None
            missing = isinstance(exc, WeightsNotFoundError)
            self.model_failed.emit(ModelFailure(str(exc), request.weights, missing, current))
            return
        self._classifier, self._weights = classifier, request.weights
        elapsed = (time.perf_counter() - start) * 1000.0
        self.model_loaded.emit(ModelStatus(classifier.info, request.weights, elapsed, note,
                                           engine.decision or None, engine.timings_ms()))

    def set_device(self, name: str) -> None:
        if self._classifier is None:
            return  # the next load uses the device the GUI asks for
        if name == "cuda" and not self.runtime().cuda_available:
            self.device_failed.emit("CUDA is not available on this machine; staying on the CPU.")
            return
        try:
            self._classifier.set_device(name)
        except Exception as exc:
            if not isinstance(exc, UserFacingError):
                log.exception("moving the model to %s failed", name)
            self.device_failed.emit(f"Could not switch to {name}: {exc}")
            return
        self.device_changed.emit(ModelStatus(self._classifier.info, self._weights))

    def set_engine(self, name: str) -> None:
        """Switch engines (core.engines); one that cannot be used leaves PyTorch and a note.

        The first switch to an engine for these weights converts and times it (seconds)."""
        if self._classifier is None:
            return  # the next load uses the engine the GUI asks for
        try:
            self._classifier.set_engine(name)
        except Exception as exc:
            if not isinstance(exc, UserFacingError):
                log.exception("switching to the %s engine failed", name)
            self.device_failed.emit(f"Could not switch to the {name} engine: {exc}")
            return
        self._report_engine()

    def _report_engine(self) -> None:
        classifier = self._classifier
        assert classifier is not None, "called only with a model loaded"
        engine = classifier.engine
        self.device_changed.emit(ModelStatus(classifier.info, self._weights,
                                             note=engine.take_message(),
                                             engine=engine.decision or None,
                                             timings=engine.timings_ms()))

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
            image = _decode(source)
            from alexnet_gui.core.imaging.decode import display_array

            display = display_array(image)
        except Exception as exc:
            self._fail(request, path, exc)
            return
        decode_ms = (time.perf_counter() - start) * 1000.0
        if not isinstance(source, FrameSource) and self._pending.waiting():
            return  # a newer file is waiting: skip the forward pass, nobody will see it
        if self._classifier is None:
            message = "No model loaded: choose weights in the Model menu."
            self.prediction_ready.emit(
                ClassifyResult(request.request_id, source.name, path, display, None, None,
                               decode_ms=decode_ms, message=message)
            )
            return
        classifier = self._classifier
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
            self.device_changed.emit(ModelStatus(classifier.info, self._weights, note=note))
        if self._classifier.engine.messages:  # the engine failed and PyTorch took over
            self._report_engine()
        if path is not None and views is None:  # the engine's answer (views come from PyTorch)
            self._recent.remember(path, classifier, prediction.tta, prediction.top1)
        self.prediction_ready.emit(
            ClassifyResult(request.request_id, source.name, path, display, prediction,
                           self._classifier.info, decode_ms=decode_ms, views=views)
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
        batch = FolderBatch(request, self._control)
        self.batch_started.emit(BatchStarted(request.batch_id, batch.paths))
        if not batch.paths:
            self._end_batch(batch.refuse("No images found."))
        elif self._classifier is None:
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
        classifier = self._classifier
        assert classifier is not None, "a batch starts only once a model is loaded"
        steps = batch.step(classifier, interrupted=self._pending.waiting, known=self._recent)
        for item in steps:
            self.batch_item_ready.emit(item)
        if batch.note is not None:  # the batch fell back to the CPU after running out of memory
            self.device_changed.emit(ModelStatus(classifier.info, self._weights,
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


def _decode(source: Source) -> Image:
    from alexnet_gui.core.imaging import decode as imaging

    if isinstance(source, FileSource):
        return imaging.load_image(source.path)
    if isinstance(source, BytesSource):
        return imaging.image_from_bytes(source.data, source.name)
    return imaging.image_from_array(source.frame, bgr=source.bgr)
