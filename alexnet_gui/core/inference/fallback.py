"""When the GPU runs out of memory, finish the request on the CPU instead of failing it.

A big TenCrop batch, or another program filling the GPU, can make a CUDA forward pass fail with
``torch.cuda.OutOfMemoryError`` (older drivers and some ops raise a plain RuntimeError saying
"out of memory"). The model still fits the CPU, so the request is retried once there and the
model stays there: trying the GPU again at the next frame would fail the same way. The caller
shows the returned note and tells the GUI the device changed.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import torch

if TYPE_CHECKING:
    from alexnet_gui.core.inference.classifier import Classifier

log = logging.getLogger(__name__)

T = TypeVar("T")

FALLBACK_NOTE = (
    "The GPU ran out of memory; the model now runs on the CPU (slower). "
    "Choose Device > CUDA to try the GPU again."
)


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is CUDA (or another accelerator) running out of memory."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def run_with_oom_fallback(classifier: Classifier, fn: Callable[[], T]) -> tuple[T, str | None]:
    """``(fn(), None)``; after an out-of-memory error on a GPU, ``(fn() on the CPU, note)``.

    ``fn`` must use ``classifier`` (through a closure), so that running it again after
    ``classifier.set_device("cpu")`` runs on the CPU. It is retried once; a second failure, any
    other error, or running out of memory on the CPU itself propagates unchanged.
    """
    try:
        return fn(), None
    except Exception as exc:
        if classifier.device.type == "cpu" or not is_out_of_memory(exc):
            raise
        log.warning("out of memory on %s; moving the model to the CPU", classifier.device)
    # Outside the except block: the traceback's frames hold the GPU tensors of the failed pass.
    gc.collect()
    classifier.set_device("cpu")  # empties the CUDA cache too
    return fn(), FALLBACK_NOTE
