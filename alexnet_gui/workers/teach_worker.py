"""The Teach worker: a thread that owns its own frozen network, records examples and trains heads.

It keeps its own copy of the ImageNet AlexNet rather than asking the inference worker, so that
computing an example's features while the user holds "record" never holds up the live view's
classification of the same frames (and training, which pauses nothing else). The copy is
loaded on the first request that needs it, in this thread; importing this module costs no
torch. Every example's features are computed once, when it is recorded or added (or when a
project is opened without them cached), so Train only fits a head.

Frames arrive through queued signals; saving a JPEG and one forward pass take tens of ms, so at
the recording rate (a few frames a second) no backlog builds.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import UserFacingError, WeightsNotFoundError
from alexnet_gui.core.training import teach_project
from alexnet_gui.messages import TeachExample, TeachTrained

if TYPE_CHECKING:  # annotations only: importing them costs torch
    from alexnet_gui.core.models.weights import LoadedModel
    from alexnet_gui.core.training.teach import FeatureCache

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = 96
#: ``() -> LoadedModel``: the frozen base network; the ImageNet AlexNet in the app.
BaseLoader = Callable[[], "LoadedModel"]


def load_imagenet() -> LoadedModel:
    from alexnet_gui.core.models.weights import load_weights

    return load_weights(None)


def thumbnail(image: object) -> np.ndarray | None:
    """A copy at most :data:`THUMBNAIL_SIZE` px on its long side (a PIL image, an array or a
    Path); ``None`` when the file cannot be read."""
    from PIL import Image

    from alexnet_gui.core.imaging.decode import load_image

    try:
        if isinstance(image, Path):
            picture = load_image(image)
        elif isinstance(image, np.ndarray):
            picture = Image.fromarray(np.ascontiguousarray(image[..., :3]))
        else:
            picture = image  # type: ignore[assignment]
    except UserFacingError:
        return None
    picture = picture.copy()
    picture.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    return np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.uint8))


def _copy_into(root: Path, *, name: str, source: Path) -> Path:
    return teach_project.copy_file(root, name, source)


class TeachWorker(QObject):
    """Records examples, computes their features once, trains and saves the taught model.

    Its public methods run synchronously (tests call them); :class:`TeachClient` reaches them
    through queued signals.

    Signals:
        project_opened(object, object): the root Path and a tuple of TeachExample.
        example_added(TeachExample): a recorded frame or added file, saved and its features known.
        progressed(int, int): training steps done and total.
        trained(TeachTrained): the taught model is saved.
        weights_missing(str): the base network's weights are not on this machine.
        failed(str): one line for the user.
    """

    project_opened = pyqtSignal(object, object)
    example_added = pyqtSignal(object)
    progressed = pyqtSignal(int, int)
    trained = pyqtSignal(object)
    weights_missing = pyqtSignal(str)
    failed = pyqtSignal(str)

    def __init__(self, loader: BaseLoader | None = None) -> None:
        super().__init__()
        self._loader = loader  # None: load_imagenet, looked up when first needed
        self._base: LoadedModel | None = None
        self._cache: FeatureCache | None = None
        self.root: Path | None = None
        self.cancel = threading.Event()  # stops a training run
        self.stopping = threading.Event()  # the app is closing: stop any loop

    # -- the base network and its features ------------------------------------------------------

    def _features(self) -> FeatureCache | None:
        """The project's feature cache; ``None`` (and ``weights_missing``) without weights."""
        if self._cache is not None:
            return self._cache
        if not self.check_base():
            return None
        assert self._base is not None
        from alexnet_gui.core.training.teach import FeatureCache, FeatureExtractor

        self._cache = FeatureCache(FeatureExtractor(self._base), self.root)
        return self._cache

    def check_base(self) -> bool:
        """Load the base network if it is not yet; ``weights_missing`` when it cannot be.

        Asked for when the panel opens: a missing download is said before any recording, and
        the network is ready by the time the first frame is.
        """
        if self._base is None:
            try:
                self._base = (self._loader or load_imagenet)()
            except WeightsNotFoundError as exc:
                self.weights_missing.emit(str(exc))
                return False
        return True

    def reload_base(self) -> None:
        """Try the weights again (after a download)."""
        self._base, self._cache = None, None
        if self.root is not None:
            self.open_project(self.root)

    # -- requests -------------------------------------------------------------------------------

    def open_project(self, root: Path) -> None:
        try:
            examples = teach_project.open_project(root)
        except UserFacingError as exc:
            self.failed.emit(str(exc))
            return
        self.root, self._cache = Path(root), None
        shown = tuple(TeachExample(name, path, thumbnail(path))
                      for name, paths in examples.items() for path in paths)
        self.project_opened.emit(self.root, shown)
        cache = self._features()
        if cache is not None:  # what is not cached yet, now rather than at Train
            for example in shown:
                if self.stopping.is_set():
                    return
                self._compute(cache, example.path)
            cache.save()

    def add_frame(self, class_name: str, rgb: np.ndarray) -> None:
        self._add(class_name, lambda root: teach_project.save_frame(root, class_name, rgb), rgb)

    def add_files(self, class_name: str, paths: list[Path]) -> None:
        for path in paths:
            self._add(class_name, functools.partial(_copy_into, name=class_name, source=path))
        if self._cache is not None:
            self._cache.save()

    def forget(self, path: Path) -> None:
        if self._cache is not None:
            self._cache.forget(path)

    def flush(self) -> None:
        """Keep the features computed so far on disk (recording stopped)."""
        if self._cache is not None:
            self._cache.save()

    def train(self) -> None:
        """Fit a head on every example's features and save PROJECT/model.pt."""
        if self.root is None:
            self.failed.emit("Open or make a Teach project first.")
            return
        cache = self._features()
        if cache is None:
            return
        from alexnet_gui.core.training import teach

        try:
            examples = teach_project.open_project(self.root)
            classes = sorted(name for name, paths in examples.items() if paths)
            if len(classes) < 2:
                raise UserFacingError("Teach needs at least two classes with examples each.")
            samples = [(p, i) for i, c in enumerate(classes) for p in examples[c]]
            features = [self._compute(cache, p) for p, _ in samples]
            kept = [(f, label) for f, (_, label) in zip(features, samples, strict=True)
                    if f is not None]
            cache.save()
            self.cancel.clear()
            fit = teach.train_head(np.stack([f for f, _ in kept]), [lab for _, lab in kept],
                                   len(classes), progress=self.progressed.emit,
                                   cancelled=lambda: self.cancel.is_set()
                                   or self.stopping.is_set())
            assert self._base is not None, "the cache exists only with a base network"
            taught = teach.build_taught_model(self._base, classes, fit, name=self.root.name)
            path = teach.save_taught_model(self.root / teach_project.MODEL_FILE, taught, fit,
                                           project=self.root)
        except teach.TeachCancelled:
            self.failed.emit("Training cancelled.")
            return
        except UserFacingError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("teaching failed")
            self.failed.emit(f"Training failed unexpectedly: {exc}")
            return
        self.trained.emit(TeachTrained(path, tuple(classes), fit.examples, fit.train_acc,
                                       fit.val_acc, fit.val_count, fit.evaluated_on,
                                       fit.seconds))

    # -- slots (queued from the client) ---------------------------------------------------------

    @pyqtSlot(object)
    def _on_client_opened(self, root: Path) -> None:
        self.open_project(root)

    @pyqtSlot(str, object)
    def _on_client_frame(self, class_name: str, rgb: np.ndarray) -> None:
        self.add_frame(class_name, rgb)

    @pyqtSlot(str, object)
    def _on_client_files(self, class_name: str, paths: list[Path]) -> None:
        self.add_files(class_name, paths)

    @pyqtSlot(object)
    def _on_client_forgotten(self, path: Path) -> None:
        self.forget(path)

    @pyqtSlot()
    def _on_client_flush(self) -> None:
        self.flush()

    @pyqtSlot()
    def _on_client_train(self) -> None:
        self.train()

    @pyqtSlot()
    def _on_client_reload(self) -> None:
        self.reload_base()

    @pyqtSlot()
    def _on_client_check(self) -> None:
        self.check_base()

    # -- helpers --------------------------------------------------------------------------------

    def _add(self, class_name: str, save: Callable[[Path], Path],
             image: np.ndarray | None = None) -> None:
        if self.root is None:
            self.failed.emit("Open or make a Teach project first.")
            return
        try:
            path = save(self.root)
        except UserFacingError as exc:
            self.failed.emit(str(exc))
            return
        cache = self._features()
        if cache is not None and self._compute(cache, path, image) is None:
            path.unlink(missing_ok=True)  # not an image after all: not an example either
            return
        self.example_added.emit(TeachExample(class_name, path,
                                             thumbnail(image if image is not None else path)))

    def _compute(self, cache: FeatureCache, path: Path,
                 image: np.ndarray | None = None) -> np.ndarray | None:
        try:
            return cache.get(path, image)
        except UserFacingError as exc:
            self.failed.emit(str(exc))
            return None


class TeachClient(QObject):
    """The GUI thread's handle: starts the worker's thread on first use and forwards requests.

    Signals: those of :class:`TeachWorker`, re-emitted on the GUI thread.
    """

    project_opened = pyqtSignal(object, object)
    example_added = pyqtSignal(object)
    progressed = pyqtSignal(int, int)
    trained = pyqtSignal(object)
    weights_missing = pyqtSignal(str)
    failed = pyqtSignal(str)
    _opened = pyqtSignal(object)
    _frame = pyqtSignal(str, object)
    _files = pyqtSignal(str, object)
    _forgotten = pyqtSignal(object)
    _train = pyqtSignal()
    _flush = pyqtSignal()
    _reload = pyqtSignal()
    _check = pyqtSignal()

    def __init__(self, loader: BaseLoader | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("alexnet-teach")
        self.worker = TeachWorker(loader)
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        for name in ("project_opened", "example_added", "progressed", "trained",
                     "weights_missing", "failed"):
            getattr(self.worker, name).connect(getattr(self, name))
        self._opened.connect(self.worker._on_client_opened)
        self._frame.connect(self.worker._on_client_frame)
        self._files.connect(self.worker._on_client_files)
        self._forgotten.connect(self.worker._on_client_forgotten)
        self._train.connect(self.worker._on_client_train)
        self._flush.connect(self.worker._on_client_flush)
        self._reload.connect(self.worker._on_client_reload)
        self._check.connect(self.worker._on_client_check)

    def _start(self) -> None:
        if not self._thread.isRunning():
            self._thread.start()

    def open_project(self, root: Path) -> None:
        self._start()
        self._opened.emit(Path(root))

    def add_frame(self, class_name: str, rgb: np.ndarray) -> None:
        self._start()
        self._frame.emit(class_name, rgb)

    def add_files(self, class_name: str, paths: list[Path]) -> None:
        self._start()
        self._files.emit(class_name, list(paths))

    def forget(self, path: Path) -> None:
        self._forgotten.emit(Path(path))

    def train(self) -> None:
        self._start()
        self._train.emit()

    def flush(self) -> None:
        self._flush.emit()

    def cancel_training(self) -> None:
        self.worker.cancel.set()  # a threading.Event: safe from this thread

    def reload_base(self) -> None:
        self._start()
        self._reload.emit()

    def check_base(self) -> None:
        """Load the base network in the background now; ``weights_missing`` if it is absent."""
        self._start()
        self._check.emit()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.worker.stopping.set()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            log.error("the teach thread did not stop within %d ms", timeout_ms)
        return stopped
