"""The one way to classify many files: the CLI's ``classify`` and the window's folder table.

Files are decoded on the fast path (:mod:`alexnet_gui.core.imaging.fast`) as many at once as torch
has threads, classified a batch at a time through the classifier's engine, and each file gets its
answer or a one-line reason, in input order; a bad file costs one row, never the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.imaging.fast import file_tensor

if TYPE_CHECKING:
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.results import Prediction

#: Images per forward pass when a folder is classified.
FOLDER_BATCH = 32


def classify_paths(
    classifier: Classifier,
    paths: Sequence[Path],
    *,
    topk: int = 5,
    tta: bool = False,
    batch_size: int = FOLDER_BATCH,
) -> Iterator[tuple[Path, Prediction | None, str | None]]:
    """``(path, prediction, None)`` or ``(path, None, error)`` for each path, in order.

    Without TenCrop, files are decoded on the fast path, as many at once as torch has threads
    (OpenCV and torch release the GIL: on 2 cores a folder went from about 350 to 490 images/s),
    and classified ``batch_size`` at a time; the time per image is the batch's time shared out,
    decoding included.
    """
    if tta:
        for path in paths:
            try:
                yield path, classifier.classify(load_image(path), topk=topk, tta=True), None
            except Exception as exc:  # one bad file is one error row, never the end of the run
                yield path, None, _reason(path, exc)
        return
    pre = classifier.spec.preprocessing

    def read(path: Path) -> torch.Tensor | str:
        try:
            return file_tensor(path, pre)
        except Exception as exc:  # a decoder bug costs one row, not the folder
            return _reason(path, exc)

    with ThreadPoolExecutor(max(1, torch.get_num_threads())) as pool:
        for first in range(0, len(paths), batch_size):
            started = time.perf_counter()
            chunk = paths[first : first + batch_size]
            outcome = list(pool.map(read, chunk))
            inputs = [item for item in outcome if isinstance(item, torch.Tensor)]
            predictions = iter(
                classifier.classify_prepared(torch.stack(inputs), topk=topk, started=started)
                if inputs
                else []
            )
            for path, item in zip(chunk, outcome, strict=True):
                problem = item if isinstance(item, str) else None
                yield (path, None, problem) if problem else (path, next(predictions), None)


def _reason(path: Path, exc: Exception) -> str:
    """A one-line reason: the user-facing message, or the unexpected error's type."""
    if isinstance(exc, UserFacingError):
        return str(exc)
    return f"{path.name}: could not be read ({type(exc).__name__}: {exc})".replace("\n", " ")
