"""The one way to classify many files: the CLI's ``classify`` and the window's folder table.

Files are decoded on the fast path (:mod:`alexnet_gui.core.imaging.fast`) as many at once as torch
has threads, a chunk of them goes through the classifier's engine in one forward pass, and each
file gets its answer or a one-line reason, in input order; a bad file costs one row, never the run.
The CLI (:func:`classify_paths`) and the window's folder table (``workers/folder_batch.py``) both
call :func:`classify_chunk`, so they word a bad file alike, and a GPU that runs out of memory
finishes the run on the CPU (:mod:`alexnet_gui.core.inference.fallback`) in both.

Either classifier works: the torch :class:`~.classifier.Classifier`, or the fast start path's
:class:`~.quick.QuickClassifier` (Pillow and numpy inputs, no torch imported; the CPU only, so
no out-of-memory fallback). Importing this module imports no torch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from alexnet_gui.core.errors import UserFacingError, without_name
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.inference.quick import QuickClassifier

if TYPE_CHECKING:
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.models.spec import Preprocessing
    from alexnet_gui.core.results import Prediction

    AnyClassifier: TypeAlias = Classifier | QuickClassifier

log = logging.getLogger(__name__)

#: Model inputs per forward pass when a folder is classified (TenCrop: 10 per image).
FOLDER_BATCH = 32
#: Crops per image with TenCrop.
TENCROP = 10

#: ``(path, prediction, None)`` or ``(path, None, one-line reason)``.
Row = tuple[Path, "Prediction | None", "str | None"]


@dataclass(frozen=True)
class Chunk:
    """The rows of a chunk's first ``len(rows)`` paths, in order, and the note of an OOM fallback.

    ``note`` is :data:`~alexnet_gui.core.inference.fallback.FALLBACK_NOTE` when the GPU ran out
    of memory and the model now runs on the CPU: the caller tells the user once.
    """

    rows: list[Row] = field(default_factory=list)
    note: str | None = None


def classify_chunk(
    classifier: AnyClassifier,
    paths: Sequence[Path],
    *,
    topk: int = 5,
    tta: bool = False,
    pool: Executor | None = None,
    stop: Callable[[], bool] | None = None,
) -> Chunk:
    """Decode ``paths`` in ``pool`` (a new one if ``None``) and classify them in one pass.

    ``stop()`` is asked before waiting for each file after the first: when it says so, the rest
    are not classified and the rows cover a prefix of ``paths``, so a picture the user asked for
    does not wait behind a chunk of the folder. The time per image is the chunk's, decoding
    included, shared out.
    """
    started = time.perf_counter()
    if pool is None:
        with ThreadPoolExecutor(_threads(classifier)) as own:
            return _classify_chunk(classifier, paths, topk, tta, own, stop, started)
    return _classify_chunk(classifier, paths, topk, tta, pool, stop, started)


def classify_paths(
    classifier: AnyClassifier,
    paths: Sequence[Path],
    *,
    topk: int = 5,
    tta: bool = False,
    batch_size: int = FOLDER_BATCH,
    on_note: Callable[[str], None] | None = None,
) -> Iterator[Row]:
    """A row for each path, in order: :func:`classify_chunk` over chunks of ``batch_size`` inputs.

    Decoding many files at once pays off as OpenCV and torch release the GIL: on 2 cores a folder
    went from about 350 to 490 images/s. With TenCrop a chunk holds a tenth as many images, so a
    forward pass has about as many inputs. ``on_note`` gets the out-of-memory note, if any.
    """
    size = max(1, batch_size // TENCROP) if tta else max(1, batch_size)
    with ThreadPoolExecutor(_threads(classifier)) as pool:
        for first in range(0, len(paths), size):
            chunk = classify_chunk(
                classifier, paths[first : first + size], topk=topk, tta=tta, pool=pool
            )
            if chunk.note is not None and on_note is not None:
                on_note(chunk.note)
            yield from chunk.rows


def model_input(classifier: AnyClassifier, path: Path, *, tta: bool = False) -> Any:
    """(1, 3, S, S) from the fast decoder, or TenCrop's (10, 3, S, S) from the still path; a
    numpy array for the quick classifier, a tensor for the torch one."""
    if isinstance(classifier, QuickClassifier):
        return classifier.file_input(path, tta=tta)
    if tta:
        return classifier.preprocess(load_image(path), tta=True)
    return file_tensor(path, classifier.spec.preprocessing).unsqueeze(0)


def file_tensor(path: Path, pre: Preprocessing) -> Any:
    """The torch classifier's decoder, :func:`alexnet_gui.core.imaging.fast.file_tensor`,
    imported on first use so that the quick path never imports torch."""
    from alexnet_gui.core.imaging.fast import file_tensor as decode

    return decode(path, pre)


def _predict(
    classifier: AnyClassifier, inputs: list[Any], topk: int, tta: bool, started: float
) -> tuple[list[Prediction], str | None]:
    """One forward pass over the chunk's inputs, and the out-of-memory note, if any."""
    if isinstance(classifier, QuickClassifier):
        batch = np.concatenate(inputs)
        return classifier.classify_prepared(batch, topk=topk, tta=tta, started=started), None
    import torch

    from alexnet_gui.core.inference.fallback import run_with_oom_fallback

    tensors = torch.cat(inputs)
    torch_classifier = classifier
    return run_with_oom_fallback(
        torch_classifier,
        lambda: torch_classifier.classify_prepared(tensors, topk=topk, tta=tta, started=started),
    )


def _classify_chunk(
    classifier: AnyClassifier,
    paths: Sequence[Path],
    topk: int,
    tta: bool,
    pool: Executor,
    stop: Callable[[], bool] | None,
    started: float,
) -> Chunk:
    def read(path: Path) -> Any:
        try:
            return model_input(classifier, path, tta=tta)
        except Exception as exc:  # a decoder bug costs one row, not the folder
            if not isinstance(exc, UserFacingError):
                log.info("decoding %s failed", path, exc_info=True)
            return _reason(path, exc)

    futures = [pool.submit(read, path) for path in paths]
    decoded: list[Any] = []
    for future in futures:
        if decoded and stop is not None and stop():
            for rest in futures[len(decoded) :]:
                rest.cancel()
            break
        decoded.append(future.result())
    done = paths[: len(decoded)]
    inputs = [item for item in decoded if not isinstance(item, str)]
    predictions: list[Prediction] = []
    note = None
    if inputs:
        try:
            predictions, note = _predict(classifier, inputs, topk, tta, started)
        except Exception as exc:  # a broken model costs these rows; the caller goes on
            log.info("classifying %d images failed", len(inputs), exc_info=True)
            decoded = [
                item if isinstance(item, str) else _reason(path, exc, reading=False)
                for path, item in zip(done, decoded, strict=True)
            ]
    answers = iter(predictions)
    rows: list[Row] = [
        (path, None, item) if isinstance(item, str) else (path, next(answers), None)
        for path, item in zip(done, decoded, strict=True)
    ]
    return Chunk(rows, note)


def _threads(classifier: AnyClassifier) -> int:
    if isinstance(classifier, QuickClassifier):
        return max(1, classifier.threads)
    import torch

    return max(1, torch.get_num_threads())


def _reason(path: Path, exc: Exception, *, reading: bool = True) -> str:
    """A one-line reason without the file's name (the row or the line already shows it)."""
    if isinstance(exc, UserFacingError):
        return without_name(str(exc), path).replace("\n", " ")
    what = "could not be read" if reading else "could not be classified"
    return f"{what} ({type(exc).__name__}: {exc})".replace("\n", " ")

