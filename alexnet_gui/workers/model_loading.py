"""What the inference worker loads: the quick engine (no torch) and the full network (torch).

Why two: importing torch and torchvision and building the 61M-parameter model takes 10 s and more
on a small machine, but the OpenVINO engine the app cached for the same weights answers a top-5
with numpy, Pillow and OpenVINO alone in about a second. So a model request first asks for that
cached engine (:func:`find_quick`); when there is one it answers at once, and the full network,
which the inside views, Grad-CAM and a CUDA GPU need, loads in a plain thread beside it
(:class:`NetworkLoad`). A separate thread rather than the worker's own: the worker keeps
answering frames and pictures with the quick engine meanwhile (OpenVINO releases the GIL while
it runs), where loading in the worker would hold every request for those seconds.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alexnet_gui.messages import ModelRequest, RuntimeInfo

if TYPE_CHECKING:  # for annotations only: importing them costs torch
    from PIL.Image import Image

    from alexnet_gui.core.engines.select import SelectedEngine
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.results import ModelInfo, Prediction

log = logging.getLogger(__name__)


class QuickModel(Protocol):
    """What the worker needs of ``core.inference.quick.QuickClassifier`` (torch-free)."""

    engine_name: str

    def classify(self, image: Image, top_k: int = 5, *, tta: bool = False) -> Prediction: ...

    def classify_batch(self, images: Sequence[Image], top_k: int = 5, *,
                       tta: bool = False) -> list[Prediction]: ...

    def model_info(self) -> ModelInfo: ...


#: ``(weights or None for ImageNet, device) -> Classifier``; tests inject a caching one.
ModelLoader = Callable[[Path | None, str], "Classifier"]
#: ``(weights or None, engine setting) -> the cached engine, or None``; tests inject fakes.
QuickFinder = Callable[[Path | None, str], "QuickModel | None"]

FAST_START = "fast start: the full network loads in the background"
PREPARING = "Preparing the fast engine for these weights (once)…"


def load_classifier(weights: Path | None, device: str) -> Classifier:
    """The default loader: core.models.weights + the classifier, imported in the calling thread.

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


def find_quick(weights: Path | None, engine: str) -> QuickModel | None:
    """The default finder: the engine cache's entry for these weights, or ``None`` (no torch)."""
    if engine == "pytorch":
        return None
    try:
        from alexnet_gui.core.inference.quick import find_quick_engine
    except ImportError:  # a build without the quick path
        return None
    try:
        return find_quick_engine(weights, engine=engine, threads=worker_threads())
    except Exception:  # a damaged cache entry means the usual load, not a failure
        log.warning("the cached engine for %s could not be used", weights or "ImageNet",
                    exc_info=True)
        return None


def no_quick(_weights: Path | None, _engine: str) -> None:
    """The finder when a test injects its own loader: its classifier is the model."""
    return None


def worker_threads() -> int | None:
    """The model's threads: one core fewer than the machine has (``None``: the user's
    ``OMP_NUM_THREADS`` decides). See :func:`leave_a_core_free` for why."""
    if os.environ.get("OMP_NUM_THREADS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


def leave_a_core_free() -> None:
    """Run the model on one core fewer than the machine has.

    torch's intra-op threads meet at a barrier after every layer, so one of them preempted by
    the GUI, the capture thread or another program stalls them all. On a busy two-core machine
    AlexNet's batch-1 forward pass took 20-30 ms on one thread but 90-220 ms on two, and with a
    video playing the GUI froze for up to 160 ms (``benchmarks/live.py``). On eight cores, seven
    threads lose next to nothing. ``OMP_NUM_THREADS`` still wins.
    """
    import torch

    wanted = worker_threads()
    if wanted is not None and torch.get_num_threads() > wanted:
        torch.set_num_threads(wanted)


def import_runtime() -> RuntimeInfo:
    """Import torch (seconds, once) and say whether CUDA is usable."""
    import torch

    leave_a_core_free()
    cuda = bool(torch.cuda.is_available())
    name = torch.cuda.get_device_name(0) if cuda else None
    return RuntimeInfo(torch.__version__, cuda, name)


@dataclass(eq=False)
class NetworkLoad:
    """torch and the full Classifier for ``request``, loaded in a plain thread.

    ``done(self)`` is called from that thread when it ends, loaded or not; the worker passes a
    queued signal's ``emit``, so it takes the result in its own thread. A newer model request
    makes this one stale (the worker compares), and nobody waits for it to finish.
    """

    request: ModelRequest
    loader: ModelLoader
    done: Callable[[NetworkLoad], Any]
    runtime: RuntimeInfo | None = None
    classifier: Classifier | None = None
    engine: SelectedEngine | None = None
    error: Exception | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alexnet-network-load",
                                        daemon=True)
        self._lock = threading.Lock()
        self._abandoned = False

    def abandon(self) -> None:
        """Nobody waits for this load any more (the worker is stopping): ``done`` is not called.

        Called before the worker is deleted; calling ``done`` (a signal of a deleted QObject)
        afterwards would crash the process, so the two are serialised by a lock."""
        with self._lock:
            self._abandoned = True

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        if not self.started:
            self._thread.start()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the thread; ``True`` if it has ended (or never started)."""
        if self._thread.ident is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.runtime = import_runtime()
            device = self.request.device
            if device == "cuda" and not self.runtime.cuda_available:
                device = "cpu"
            classifier = self.loader(self.request.weights, device)
            self.engine = classifier.set_engine(self.request.engine)
            self.classifier = classifier
        except Exception as exc:  # the worker reports it; the quick engine goes on answering
            log.debug("loading the full network failed", exc_info=True)
            self.error = exc
        with self._lock:
            if not self._abandoned:
                self.done(self)
