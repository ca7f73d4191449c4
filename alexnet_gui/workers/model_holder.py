"""The inference worker's model: loading it, the fast start, devices and engines.

A model request first asks the engine cache for the weights' engine (``workers.model_loading``).
When it holds one, that quick engine answers at once, torch-free, and the full network loads in a
thread beside it; when it is there it takes over (on a CUDA GPU too, which is announced), and
:attr:`ModelHolder.network_taken` lets the worker answer what was waiting for it. Without a cached
engine the load is today's: torch, the Classifier, and the engine (converted once per weights).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import UserFacingError, WeightsNotFoundError
from alexnet_gui.messages import ModelFailure, ModelRequest, ModelStatus, RuntimeInfo
from alexnet_gui.workers.model_loading import (
    FAST_START,
    PREPARING,
    ModelLoader,
    NetworkLoad,
    QuickFinder,
    QuickModel,
    find_quick,
    import_runtime,
    load_classifier,
    no_quick,
)

if TYPE_CHECKING:  # for annotations only: importing them costs torch
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.results import ModelInfo

log = logging.getLogger(__name__)

#: After a fast start, how long the full network waits before it starts loading: the first
#: result is painted meanwhile without the import's competition for the CPU and the GIL.
NETWORK_DELAY_MS = 500
NETWORK_FAILED = ("The full network could not be loaded ({}); the inside views and "
                  "Grad-CAM are not available.")


class ModelHolder(QObject):
    """The model of one inference worker; lives in the worker's thread (its child).

    Signals (the worker passes the public ones on as its own):
        runtime_reported(RuntimeInfo), model_loaded(ModelStatus), model_failed(ModelFailure),
        model_progress(str), network_ready(ModelStatus), device_changed(ModelStatus),
        device_failed(str): see :class:`~alexnet_gui.workers.inference_worker.InferenceWorker`.
        network_taken(): the full network has just replaced the quick engine.
    """

    runtime_reported = pyqtSignal(object)
    model_loaded = pyqtSignal(object)
    model_failed = pyqtSignal(object)
    model_progress = pyqtSignal(str)
    network_ready = pyqtSignal(object)
    device_changed = pyqtSignal(object)
    device_failed = pyqtSignal(str)
    network_taken = pyqtSignal()
    _network_due = pyqtSignal()
    _network_loaded = pyqtSignal(object)

    def __init__(self, loader: ModelLoader | None = None, quick: QuickFinder | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loader = loader or load_classifier
        #: A test's own loader is the model: no cached engine unless the test gives a finder too.
        self._finder = quick or (find_quick if loader is None else no_quick)
        self.classifier: Classifier | None = None
        self.quick: QuickModel | None = None  # answers until the full network is there
        self.load: NetworkLoad | None = None  # the full network, loading beside the quick one
        self.weights: Path | None = None
        self._runtime: RuntimeInfo | None = None
        self._wanted: dict[str, str] = {}  # a device or engine chosen while the network loads
        queued = Qt.ConnectionType.QueuedConnection  # the stub's connect() lacks `type`
        self._network_due.connect(self._on_self_network_due, queued)  # type: ignore[call-arg]
        self._network_loaded.connect(self._on_self_network_loaded,  # type: ignore[call-arg]
                                     queued)

    @property
    def loaded(self) -> bool:
        """Whether a model (quick or full) answers."""
        return self.classifier is not None or self.quick is not None

    @property
    def info(self) -> ModelInfo | None:
        if self.classifier is not None:
            return self.classifier.info
        return self.quick.model_info() if self.quick is not None else None

    def runtime(self) -> RuntimeInfo:
        """Import torch (once, in this thread) and report what it found."""
        if self._runtime is None:
            self._runtime = import_runtime()
            self.runtime_reported.emit(self._runtime)
        return self._runtime

    # -- loading ------------------------------------------------------------------------------

    def load_model(self, request: ModelRequest) -> None:
        start = time.perf_counter()
        self.abandon()  # a load still running for older weights is dropped when it ends
        self._wanted = {}
        quick = self._finder(request.weights, request.engine)
        if quick is not None:
            self._install_quick(request, quick, start)
            return
        runtime = self.runtime()
        device, note = request.device, None
        if device == "cuda" and not runtime.cuda_available:
            device, note = "cpu", "CUDA is not available on this machine; using the CPU."
        try:
            classifier = self._loader(request.weights, device)
            if request.engine != "pytorch" and classifier.device.type == "cpu":
                self.model_progress.emit(PREPARING)  # converted and timed once per weights
            # Seconds the first time for these weights (conversion, timing), then the cache's.
            engine = classifier.set_engine(request.engine)
            note = " ".join(filter(None, (note, engine.take_message()))) or None
        except Exception as exc:
            if not isinstance(exc, UserFacingError):
                log.exception("loading %s failed", request.weights or "the ImageNet weights")
            missing = isinstance(exc, WeightsNotFoundError)
            self.model_failed.emit(ModelFailure(str(exc), request.weights, missing, self.info))
            return
        self.classifier, self.quick, self.weights = classifier, None, request.weights
        elapsed = (time.perf_counter() - start) * 1000.0
        self.model_loaded.emit(ModelStatus(classifier.info, request.weights, elapsed, note,
                                           engine.decision or None, engine.timings_ms()))

    def _install_quick(self, request: ModelRequest, quick: QuickModel, start: float) -> None:
        self.classifier, self.quick, self.weights = None, quick, request.weights
        self.load = NetworkLoad(request, self._loader, self._network_loaded.emit)
        elapsed = (time.perf_counter() - start) * 1000.0
        self.model_loaded.emit(ModelStatus(quick.model_info(), request.weights, elapsed,
                                           engine=f"{quick.engine_name} ({FAST_START})"))
        self._network_due.emit()  # queued: a picture already waiting is answered first

    def start_network_load(self) -> None:
        """Start loading the full network beside the quick engine (once per model request)."""
        load = self.load
        if load is not None and self.quick is not None:
            load.start()

    def take_network(self, load: NetworkLoad) -> None:
        """The full network has loaded (or failed to): from now on it answers."""
        if load is not self.load or self.quick is None:
            return  # a newer model was asked for meanwhile
        self.load = None
        if load.runtime is not None and self._runtime is None:
            self._runtime = load.runtime
            self.runtime_reported.emit(load.runtime)
        classifier, engine = load.classifier, load.engine
        if classifier is None or engine is None:
            error = load.error or RuntimeError("nothing was loaded")
            log.error("loading the full network failed: %s", error)
            self.device_failed.emit(NETWORK_FAILED.format(error))
            return
        self.classifier, self.quick = classifier, None
        status = ModelStatus(classifier.info, self.weights, note=engine.take_message(),
                             engine=engine.decision or None, timings=engine.timings_ms())
        if classifier.device.type == "cuda":
            self.device_changed.emit(dataclasses.replace(
                status, headline=f"The GPU is ready: the model now runs on {status.info.device}"))
        else:
            self.network_ready.emit(dataclasses.replace(
                status, headline="The full network is ready (inside views, Grad-CAM)"))
        wanted, self._wanted = self._wanted, {}
        if wanted.get("device", load.request.device) != load.request.device:
            self.set_device(wanted["device"])
        if wanted.get("engine", load.request.engine) != load.request.engine:
            self.set_engine(wanted["engine"])
        self.network_taken.emit()

    def abandon(self) -> None:
        """The worker is stopping: a network still loading is not waited for, nor taken."""
        load, self.load = self.load, None
        if load is not None:
            load.abandon()

    # -- device and engine --------------------------------------------------------------------

    def set_device(self, name: str) -> None:
        if self.classifier is None:  # the next load, or the network loading now, takes it
            if self.quick is not None:
                self._wanted["device"] = name
            return
        if name == "cuda" and not self.runtime().cuda_available:
            self.device_failed.emit("CUDA is not available on this machine; staying on the CPU.")
            return
        try:
            self.classifier.set_device(name)
        except Exception as exc:
            if not isinstance(exc, UserFacingError):
                log.exception("moving the model to %s failed", name)
            self.device_failed.emit(f"Could not switch to {name}: {exc}")
            return
        self.device_changed.emit(ModelStatus(self.classifier.info, self.weights))

    def set_engine(self, name: str) -> None:
        """Switch engines (core.engines); one that cannot be used leaves PyTorch and a note.

        The first switch to an engine for these weights converts and times it (seconds)."""
        if self.classifier is None:  # the next load, or the network loading now, takes it
            if self.quick is not None:
                self._wanted["engine"] = name
            return
        try:
            self.classifier.set_engine(name)
        except Exception as exc:
            if not isinstance(exc, UserFacingError):
                log.exception("switching to the %s engine failed", name)
            self.device_failed.emit(f"Could not switch to the {name} engine: {exc}")
            return
        self.report_engine()

    def report_engine(self) -> None:
        classifier = self.classifier
        assert classifier is not None, "called only with a model loaded"
        engine = classifier.engine
        self.device_changed.emit(ModelStatus(classifier.info, self.weights,
                                             note=engine.take_message(),
                                             engine=engine.decision or None,
                                             timings=engine.timings_ms()))

    @pyqtSlot()
    def _on_self_network_due(self) -> None:
        QTimer.singleShot(NETWORK_DELAY_MS, self.start_network_load)

    @pyqtSlot(object)
    def _on_self_network_loaded(self, load: NetworkLoad) -> None:
        self.take_network(load)
