"""A folder classified in the background, a chunk per event-loop turn of the inference worker.

:class:`FolderBatch` is stepped by the inference worker, which owns the model (see
``workers/inference_worker.py`` for why the batch does not get a model of its own). Qt-free and
synchronous, so tests step it directly.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from alexnet_gui.messages import BatchFinished, BatchItem, BatchRequest

if TYPE_CHECKING:  # for annotations only: importing it costs torch
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.results import ClassScore

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


class RecentAnswer:
    """The top-1 of the last single file the worker classified, for the folder table to reuse.

    Opening one file asks for its result and starts a one-row batch for the table; without this
    the model would run twice on the same picture. The answer holds only for the same file
    (device, inode, size, modification time), the same classifier (weakly held: a replaced model
    must not stay in memory) and engine, and the same TenCrop setting.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._top1: ClassScore | None = None

    def remember(self, path: Path, classifier: Classifier, tta: bool, top1: ClassScore) -> None:
        self._key = _answer_key(path, classifier, tta)
        self._top1 = top1 if self._key is not None else None

    def recall(self, path: Path, classifier: Classifier, tta: bool) -> ClassScore | None:
        key = _answer_key(path, classifier, tta) if self._key is not None else None
        return self._top1 if key is not None and key == self._key else None


def _answer_key(path: Path, classifier: Classifier, tta: bool) -> tuple | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    engine = getattr(getattr(classifier, "engine", None), "name", None)
    file = (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)
    return (file, weakref.ref(classifier), engine, bool(tta))


class FolderBatch:
    """Top-1 for every image under some paths, a chunk at a time; Qt-free and synchronous.

    Each chunk goes through :func:`alexnet_gui.core.inference.folder.classify_chunk`, the CLI's
    way: the same decoder, the same one-line reasons, the same out-of-memory fallback. A file
    that cannot be read becomes a row with an error and the batch goes on.
    """

    def __init__(self, request: BatchRequest, control: BatchControl) -> None:
        from alexnet_gui.core.imaging.decode import find_images

        self.request = request
        self.paths: tuple[Path, ...] = tuple(find_images(request.paths))
        self.summary: BatchFinished | None = None
        #: Set when the GPU ran out of memory and the model moved to the CPU (inference.fallback);
        #: the worker shows it, tells the GUI the device changed, and sets it back to None.
        self.note: str | None = None
        self._control = control
        self._next = 0
        self._failed = 0

    def step(
        self,
        classifier: Classifier,
        *,
        interrupted: Callable[[], bool],
        known: RecentAnswer | None = None,
    ) -> Iterator[BatchItem]:
        """Classify up to :data:`BATCH_CHUNK` images, yielding one item per image, in order.

        Stops early, after at least one image, when ``interrupted()`` says a single-image request
        is waiting; an image ``known`` already has an answer for skips the model. Sets
        :attr:`summary` when the batch is complete or no longer wanted.
        """
        from alexnet_gui.core.inference.folder import classify_chunk

        batch_id, tta = self.request.batch_id, self.request.tta
        if not self._control.is_wanted(batch_id):
            self.cancel()
            return
        indices = range(self._next, min(self._next + BATCH_CHUNK, len(self.paths)))
        answers = {
            index: known.recall(self.paths[index], classifier, tta) if known is not None else None
            for index in indices
        }
        todo = [self.paths[index] for index in indices if answers[index] is None]

        def stop() -> bool:
            return interrupted() or not self._control.is_wanted(batch_id)

        chunk = classify_chunk(classifier, todo, topk=1, tta=tta, stop=stop)
        self.note = chunk.note or self.note
        if not self._control.is_wanted(batch_id):  # cancelled meanwhile: nobody wants the rows
            self.cancel()
            return
        rows = iter(chunk.rows)
        left = len(chunk.rows)
        for index in indices:
            top1 = answers[index]
            if top1 is not None:
                yield self._item(index, classifier, top1=top1)
            elif left:
                left -= 1
                _, prediction, error = next(rows)
                top1 = prediction.top1 if prediction is not None else None
                yield self._item(index, classifier, top1=top1, error=error)
            else:
                break  # interrupted: the rest of the chunk waits for the next step
            self._next = index + 1
        if self._next >= len(self.paths):
            self.summary = BatchFinished(batch_id, self._next, len(self.paths), self._failed)

    def cancel(self) -> BatchFinished:
        self.summary = BatchFinished(
            self.request.batch_id, self._next, len(self.paths), self._failed, cancelled=True
        )
        return self.summary

    def refuse(self, message: str) -> BatchFinished:
        self.summary = BatchFinished(self.request.batch_id, 0, len(self.paths), message=message)
        return self.summary

    def _item(self, index: int, classifier: Classifier, *, top1=None, error=None) -> BatchItem:
        self._failed += error is not None
        path = self.paths[index]
        return BatchItem(self.request.batch_id, index, path, top1, classifier.info.name, error)
