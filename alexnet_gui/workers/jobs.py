"""Background work besides single images: the folder batch, and one-off jobs on their own thread.

:class:`FolderBatch` is stepped by the inference worker, which owns the model (see
``workers/inference.py`` for why the batch does not get a model of its own). :class:`Job` is the
base of one-off tasks that need no model (the weights download; training can follow): each runs
on a fresh QThread, is cancelled cooperatively, and reports through signals. :class:`JobRunner`
keeps them alive while they run and stops and joins them all at shutdown.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.workers.messages import BatchFinished, BatchItem, BatchRequest

if TYPE_CHECKING:  # for annotations only: importing it costs torch
    from alexnet_gui.core.inference import Classifier

log = logging.getLogger(__name__)

#: Images per batch step; a waiting single-image request cuts a step short.
BATCH_CHUNK = 8


class BatchControl:
    """The id of the batch the GUI still wants; any other batch stops at its next image."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted = 0

    def want(self, batch_id: int) -> None:
        with self._lock:
            self._wanted = batch_id

    def is_wanted(self, batch_id: int) -> bool:
        with self._lock:
            return self._wanted == batch_id


class FolderBatch:
    """Top-1 for every image under some paths, a chunk at a time; Qt-free and synchronous.

    Decoding happens here, in the worker thread; a file that cannot be read becomes a row with
    an error and the batch goes on.
    """

    def __init__(self, request: BatchRequest, control: BatchControl) -> None:
        from alexnet_gui.core.imaging import find_images

        self.request = request
        self.paths: tuple[Path, ...] = tuple(find_images(request.paths))
        self.summary: BatchFinished | None = None
        #: Set when the GPU ran out of memory and the model moved to the CPU (core.fallback);
        #: the worker shows it, tells the GUI the device changed, and sets it back to None.
        self.note: str | None = None
        self._control = control
        self._next = 0
        self._failed = 0

    def step(
        self, classifier: Classifier, *, interrupted: Callable[[], bool]
    ) -> Iterator[BatchItem]:
        """Decode and classify up to :data:`BATCH_CHUNK` images, yielding one item per image.

        Stops early, after at least one image, when ``interrupted()`` says a single-image request
        is waiting; sets :attr:`summary` when the batch is complete or no longer wanted.
        """
        from alexnet_gui.core.imaging import load_image

        images, indices = [], []
        while self._next < len(self.paths) and len(images) < BATCH_CHUNK:
            if not self._control.is_wanted(self.request.batch_id):
                self.cancel()
                return
            if images and interrupted():
                break
            index, self._next = self._next, self._next + 1
            try:
                images.append(load_image(self.paths[index]))
                indices.append(index)
            except UserFacingError as exc:
                yield self._item(index, classifier, error=str(exc))
            except Exception as exc:  # a decoder bug must cost one row, not the whole batch
                log.exception("batch %d: decoding %s failed", self.request.batch_id,
                              self.paths[index])
                name = self.paths[index].name
                yield self._item(index, classifier, error=f"{name}: could not be read ({exc!r}).")
        if images:
            yield from self._classify(classifier, images, indices)
        if self._next >= len(self.paths):
            self.summary = BatchFinished(
                self.request.batch_id, self._next, len(self.paths), self._failed
            )

    def cancel(self) -> BatchFinished:
        self.summary = BatchFinished(
            self.request.batch_id, self._next, len(self.paths), self._failed, cancelled=True
        )
        return self.summary

    def refuse(self, message: str) -> BatchFinished:
        self.summary = BatchFinished(self.request.batch_id, 0, len(self.paths), message=message)
        return self.summary

    def _classify(
        self, classifier: Classifier, images: list, indices: list[int]
    ) -> Iterator[BatchItem]:
        from alexnet_gui.core.fallback import run_with_oom_fallback

        try:
            predictions, note = run_with_oom_fallback(
                classifier, lambda: classifier.classify_batch(images, topk=1, tta=self.request.tta)
            )
            self.note = note or self.note
        except Exception as exc:
            log.exception("batch %d: classifying a chunk failed", self.request.batch_id)
            for index in indices:
                yield self._item(index, classifier, error=f"Could not classify: {exc}")
            return
        for index, prediction in zip(indices, predictions, strict=True):
            yield self._item(index, classifier, top1=prediction.top1)

    def _item(self, index: int, classifier: Classifier, *, top1=None, error=None) -> BatchItem:
        self._failed += error is not None
        path = self.paths[index]
        return BatchItem(self.request.batch_id, index, path, top1, classifier.info.name, error)


class Job(QObject):
    """A one-off task run on its own QThread by :class:`JobRunner`.

    Subclasses implement :meth:`run`, which returns the result or raises; they report progress
    with :meth:`report` and poll :meth:`is_cancelled` between steps.

    Signals:
        progressed(qint64, qint64): units done and total (-1 when the total is unknown).
        completed(object): :meth:`run` returned this.
        failed(str): :meth:`run` raised; one line for the user.
        ended(): always last, after ``completed`` or ``failed``.
    """

    progressed = pyqtSignal("qint64", "qint64")
    completed = pyqtSignal(object)
    failed = pyqtSignal(str)
    ended = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def run(self) -> object:
        raise NotImplementedError

    def cancel(self) -> None:
        """Ask the job to stop at its next check; thread-safe."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, done: int, total: int | None) -> None:
        self.progressed.emit(int(done), -1 if total is None else int(total))

    @pyqtSlot()
    def _on_thread_started(self) -> None:
        try:
            result = self.run()
        except UserFacingError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("%s failed", type(self).__name__)
            self.failed.emit(f"{type(self).__name__} failed unexpectedly: {exc}")
        else:
            self.completed.emit(result)
        self.ended.emit()


class DownloadJob(Job):
    """Download the ImageNet weights (or ``url``); ``completed`` gets the saved path."""

    def __init__(
        self, url: str | None = None, *, dest_dir: Path | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__()
        self.url = url
        self.dest_dir = dest_dir
        self.timeout = timeout

    def run(self) -> Path:
        from alexnet_gui.core.download import download_weights

        return download_weights(
            self.url,
            dest_dir=self.dest_dir,
            progress=self.report,
            is_cancelled=self.is_cancelled,
            timeout=self.timeout,
        )


class JobRunner(QObject):
    """Starts jobs on their own threads and joins them all in :meth:`shutdown`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[Job, QThread] = {}

    def start(self, job: Job) -> Job:
        """Run ``job`` on a new thread; connect to its signals before calling this."""
        thread = QThread()
        thread.setObjectName(f"job-{type(job).__name__}")
        job.moveToThread(thread)
        thread.started.connect(job._on_thread_started)
        job.ended.connect(thread.quit)
        thread.finished.connect(functools.partial(self._on_thread_finished, job))
        self._running[job] = thread
        thread.start()
        return job

    def make_download(
        self, url: str | None = None, *, dest_dir: Path | None = None, timeout: float = 30.0
    ) -> DownloadJob:
        """A download job for the caller to connect to and then :meth:`start`.

        A factory on the runner lets the UI make jobs without importing this module (which the
        layering rules keep out of ``alexnet_gui.ui``).
        """
        return DownloadJob(url, dest_dir=dest_dir, timeout=timeout)

    def _on_thread_finished(self, job: Job) -> None:
        thread = self._running.pop(job, None)
        if thread is not None:
            thread.wait()  # ``finished`` comes just before the thread really ends

    def running(self) -> list[Job]:
        return list(self._running)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel every job and wait for its thread; ``True`` if all stopped in time."""
        stopped = True
        for job, thread in list(self._running.items()):
            job.cancel()
            thread.quit()
            if not thread.wait(timeout_ms):
                log.error("%s did not stop within %d ms", type(job).__name__, timeout_ms)
                stopped = False
        self._running.clear()
        return stopped
