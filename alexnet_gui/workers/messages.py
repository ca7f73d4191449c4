"""What crosses between the GUI thread and the workers: small frozen dataclasses.

Neither Qt nor torch is imported here, so the UI, the workers and the tests share these types
without paying for either. Arrays are HxWx3 ``uint8`` and are never mutated after construction;
the worker makes them, the GUI thread only turns them into pixmaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction

TOPK_CHOICES: tuple[int, ...] = tuple(range(1, 11))
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


# -- sources: where the pixels of one request come from -------------------------------------


@dataclass(frozen=True)
class FileSource:
    """An image file; the worker decodes it."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class BytesSource:
    """An encoded image held in memory (a download, a drag from a browser)."""

    data: bytes = field(repr=False)
    name: str = "image"


@dataclass(frozen=True, eq=False)
class FrameSource:
    """An RGB (or BGR) ``uint8`` array: a camera frame, a pasted image, a video frame."""

    frame: np.ndarray = field(repr=False)
    name: str = "frame"
    bgr: bool = False


Source = FileSource | BytesSource | FrameSource


# -- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifyRequest:
    """Classify one image; ``request_id`` rises with every request, and the newest one wins.

    ``inspect`` asks the worker's inspector (the "Inside the network" panel) for a ``views``
    payload computed in the worker thread from the same image.
    """

    request_id: int
    source: Source
    topk: int = 5
    tta: bool = False
    inspect: bool = False


@dataclass(frozen=True)
class ModelRequest:
    """Load weights (``None``: the ImageNet weights) onto ``device``."""

    weights: Path | None
    device: str = "auto"


@dataclass(frozen=True)
class BatchRequest:
    """Classify every image of ``paths`` (folders are searched) in chunks, in the background."""

    batch_id: int
    paths: tuple[Path, ...]
    tta: bool = False


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClassifyResult:
    """One classified image, ready to paint.

    ``prediction`` and ``model`` are ``None`` when no model is loaded yet: the picture is still
    shown, and ``message`` says why there are no classes. ``views`` is whatever the inspector
    returned for an ``inspect`` request (kernels, feature maps, Grad-CAM), else ``None``.
    """

    request_id: int
    name: str
    path: Path | None
    image: np.ndarray = field(repr=False)
    prediction: Prediction | None
    model: ModelInfo | None
    decode_ms: float = 0.0
    message: str | None = None
    views: object | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RequestFailure:
    """A request whose image could not be decoded or classified; ``message`` is one line."""

    request_id: int
    name: str
    path: Path | None
    message: str


@dataclass(frozen=True)
class RuntimeInfo:
    """What the worker found once torch was imported (in the worker thread)."""

    torch_version: str
    cuda_available: bool
    cuda_name: str | None = None


@dataclass(frozen=True)
class ModelStatus:
    """The model now in use, after a load or a device switch."""

    info: ModelInfo
    weights: Path | None
    elapsed_ms: float = 0.0
    note: str | None = None


@dataclass(frozen=True)
class ModelFailure:
    """A load that failed; ``current`` is the model still in use, if any."""

    message: str
    weights: Path | None
    missing_imagenet: bool = False
    current: ModelInfo | None = None


@dataclass(frozen=True)
class BatchStarted:
    """The images a batch found, in the order it will classify them."""

    batch_id: int
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class BatchItem:
    """One row of a batch: the top-1 class, or the reason there is none."""

    batch_id: int
    index: int
    path: Path
    top1: ClassScore | None = None
    model_name: str = ""
    error: str | None = None


@dataclass(frozen=True)
class BatchFinished:
    """A batch ended: all done, cancelled, or refused (``message``)."""

    batch_id: int
    done: int
    total: int
    failed: int = 0
    cancelled: bool = False
    message: str | None = None
