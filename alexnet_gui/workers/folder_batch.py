"""A folder classified in the background, a chunk per event-loop turn of the inference worker.

:class:`FolderBatch` is stepped by the inference worker, which owns the model (see
``workers/inference_worker.py`` for why the batch does not get a model of its own). Qt-free and
synchronous, so tests step it directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.messages import BatchFinished, BatchItem, BatchRequest

if TYPE_CHECKING:  # for annotations only: importing it costs torch
    from alexnet_gui.core.inference.classifier import Classifier

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
        from alexnet_gui.core.imaging.decode import find_images

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
        from alexnet_gui.core.imaging.decode import load_image

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
        from alexnet_gui.core.inference.fallback import run_with_oom_fallback

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
