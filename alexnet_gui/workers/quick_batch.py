"""A folder batch that the quick engine can step too, before torch is loaded.

The folder table should fill from the first second, not after the full network has loaded. While
only the quick engine (``workers.model_loading``) is there, a chunk is decoded with Pillow and
classified by it; once the full Classifier is there, the batch goes on through
:class:`FolderBatch`'s own step (the CLI's ``classify_chunk``), rows already done staying.
A bad file gets the same one-line reason either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alexnet_gui.core.errors import UserFacingError, without_name
from alexnet_gui.messages import BatchFinished, BatchItem
from alexnet_gui.workers.folder_batch import BATCH_CHUNK, FolderBatch, RecentAnswer

if TYPE_CHECKING:
    from PIL.Image import Image

    from alexnet_gui.workers.model_loading import QuickModel


def is_quick(model: object) -> bool:
    """Whether ``model`` is a quick engine (it names its engine) rather than the Classifier."""
    return hasattr(model, "engine_name")


class QuickFolderBatch(FolderBatch):
    """:class:`FolderBatch`, stepped by whichever model the worker has: quick or full."""

    def step(self, classifier: Any, *, interrupted: Callable[[], bool],
             known: RecentAnswer | None = None) -> Iterator[BatchItem]:
        if not is_quick(classifier):
            yield from super().step(classifier, interrupted=interrupted, known=known)
            return
        yield from self._quick_step(classifier, interrupted, known)

    def _quick_step(self, quick: QuickModel, interrupted: Callable[[], bool],
                    known: RecentAnswer | None) -> Iterator[BatchItem]:
        from alexnet_gui.core.imaging.decode import load_image

        batch_id, tta = self.request.batch_id, self.request.tta
        if not self._control.is_wanted(batch_id):
            self.cancel()
            return
        name = quick.model_info().name
        first = self._next
        indices = range(first, min(first + BATCH_CHUNK, len(self.paths)))
        images: dict[int, Image] = {}
        errors: dict[int, str] = {}
        answers: dict[int, Any] = {}
        for index in indices:
            path = self.paths[index]
            if index > first and (interrupted() or not self._control.is_wanted(batch_id)):
                break
            recalled = known.recall(path, quick, tta) if known is not None else None  # type: ignore[arg-type]
            if recalled is not None:
                answers[index] = recalled
                continue
            try:
                images[index] = load_image(path)
            except Exception as exc:  # a decoder bug costs one row, not the folder
                errors[index] = _reason(path, exc)
        if images:
            order = list(images)
            try:
                predictions = quick.classify_batch([images[i] for i in order], top_k=1, tta=tta)
                answers.update({i: p.top1 for i, p in zip(order, predictions, strict=True)})
            except Exception as exc:  # a broken engine costs these rows; the batch goes on
                errors.update({i: _reason(self.paths[i], exc, reading=False) for i in order})
        if not self._control.is_wanted(batch_id):
            self.cancel()
            return
        for index in indices:
            if index in answers:
                item = BatchItem(batch_id, index, self.paths[index], answers[index], name)
            elif index in errors:
                self._failed += 1
                item = BatchItem(batch_id, index, self.paths[index], None, name, errors[index])
            else:
                break  # interrupted: the rest of the chunk waits for the next step
            self._next = index + 1
            yield item
        if self._next >= len(self.paths):
            self.summary = BatchFinished(batch_id, self._next, len(self.paths), self._failed)


def _reason(path: Path, exc: Exception, *, reading: bool = True) -> str:
    """The folder table's one-line reason, worded as ``core.inference.folder`` words it."""
    if isinstance(exc, UserFacingError):
        return without_name(str(exc), path).replace("\n", " ")
    what = "could not be read" if reading else "could not be classified"
    return f"{what} ({type(exc).__name__}: {exc})".replace("\n", " ")
