"""What every explanation method shares: the names, the options, the result, and small helpers.

The methods live one family per module (``cams``, ``scorecam``, ``guided``, ``occlusion``); this
module holds what they and their callers (the panel's worker, ``alexnet-gui explain``) agree on,
so that no method module imports another's internals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from alexnet_gui.core.visualize.drawing import resize_bilinear

# The names are data without torch, shared with the panel (``ui`` may not import torch).
from alexnet_gui.core.visualize.explain_methods import (
    GRADIENT_METHODS,
    LAYER_METHODS,
    METHOD_LABELS,
    METHODS,
    SLOW_METHODS,
)

# Re-exported: the method modules and the callers read the names from here.
__all__ = ["GRADIENT_METHODS", "LAYER_METHODS", "METHODS", "METHOD_LABELS", "SLOW_METHODS"]

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class ExplanationCancelled(Exception):
    """The caller's ``cancelled()`` turned true between two batches of a slow method."""


@dataclass(frozen=True)
class ExplainOptions:
    """Which explanation to make. ``layer``/``class_index`` ``None``: relu5 / the top-1 class."""

    method: str = "gradcam"
    layer: str | None = None
    class_index: int | None = None
    occlusion_patch: int = 32
    occlusion_stride: int = 16
    batch_size: int = 32


@dataclass(frozen=True, eq=False)
class Explanation:
    """One explanation of one class for one model input.

    ``map`` is float32: H x W in [0, 1] at the model input's size (0: no evidence), or, for the
    gradient methods (:data:`GRADIENT_METHODS`), the raw 3 x H x W input gradient.
    ``score`` is the softmax probability of ``class_index`` for the unchanged input.
    """

    method: str
    layer: str | None
    class_index: int
    score: float
    map: np.ndarray


@contextlib.contextmanager
def grad_enabled() -> Iterator[None]:
    """Gradients on, even inside a caller's ``no_grad`` or ``inference_mode``."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def check_class(class_index: int | None, logits: torch.Tensor) -> int:
    """``class_index``, or the top-1 when ``None``; a ValueError when out of range."""
    count = logits.shape[1]
    if class_index is None:
        return int(logits[0].argmax())
    if not 0 <= class_index < count:
        raise ValueError(f"class index {class_index} is out of range 0..{count - 1}")
    return int(class_index)


def check_batch(batch: torch.Tensor) -> None:
    if batch.ndim != 4 or batch.shape[0] != 1 or batch.shape[1] != 3:
        raise ValueError(f"expected one preprocessed image (1, 3, H, W), got {tuple(batch.shape)}")


def probability(logits: torch.Tensor, class_index: int) -> float:
    return float(torch.softmax(logits.detach().float(), dim=1)[0, class_index])


def check_spatial(activation: torch.Tensor, layer: str) -> None:
    """CAMs need maps: a ValueError naming the layer when its output has no height and width."""
    if activation.ndim != 4:
        raise ValueError(
            f"layer {layer} has no spatial maps (output {tuple(activation.shape)}); "
            "choose a conv, ReLU or pool layer"
        )


def to_input_map(cam: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """A non-negative (h, w) map upsampled bilinearly to ``size`` and scaled by its maximum.

    Scaling by the maximum (not min-max) keeps 0 meaning "no evidence"; an all-zero map stays 0.
    """
    values = cam.detach().float().cpu().numpy()
    resized = np.clip(resize_bilinear(values, *size), 0.0, None)
    return unit_scale(resized)


def unit_scale(values: np.ndarray) -> np.ndarray:
    """Non-negative values divided by their maximum, as contiguous float32 in [0, 1]."""
    values = np.asarray(values, dtype=np.float32)
    peak = float(values.max()) if values.size else 0.0
    scaled = values / peak if peak > 0 else np.zeros_like(values)
    return np.ascontiguousarray(np.clip(scaled, 0.0, 1.0), dtype=np.float32)


def batches(total: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive batches covering ``range(total)``."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    for start in range(0, total, size):
        yield start, min(start + size, total)


def step(done: int, total: int, progress: Progress | None, cancelled: Cancelled | None) -> None:
    """Report progress and stop if the caller asked: called before each batch and at the end."""
    if progress is not None:
        progress(done, total)
    if done < total and cancelled is not None and cancelled():
        raise ExplanationCancelled

