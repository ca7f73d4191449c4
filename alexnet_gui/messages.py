"""What crosses between the GUI thread and the workers: small frozen dataclasses.

Neither Qt nor torch is imported here, so the UI, the workers and the tests share these types
without paying for either. Arrays are HxWx3 ``uint8`` and are never mutated after construction;
the worker makes them, the GUI thread only turns them into pixmaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction

if TYPE_CHECKING:  # annotations only: core.visualize.inside imports torch
    from alexnet_gui.core.visualize.inside import ExplanationView, KernelGrid, NetworkView



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

    ``inspect`` asks the worker for the "Inside the network" views (``ClassifyResult.views``),
    drawn in the worker thread from the same image with these options; ``None``: no views. The
    options travel with the request, so a result is always drawn with the options it was asked
    with, however fast the panel changes them.
    """

    request_id: int
    source: Source
    topk: int = 5
    tta: bool = False
    inspect: InspectOptions | None = None


@dataclass(frozen=True)
class ModelRequest:
    """Load weights (``None``: the ImageNet weights) onto ``device``, run by ``engine``."""

    weights: Path | None
    device: str = "auto"
    engine: str = "auto"


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
    shown, and ``message`` says why there are no classes. ``views`` is the
    :class:`InsideViews` of a request with ``inspect`` options, else ``None``.
    """

    request_id: int
    name: str
    path: Path | None
    image: np.ndarray = field(repr=False)
    prediction: Prediction | None
    model: ModelInfo | None
    decode_ms: float = 0.0
    message: str | None = None
    views: InsideViews | None = field(default=None, repr=False)
    #: Inside views were asked for, but the full network is still loading: they follow.
    views_pending: bool = False


@dataclass(frozen=True, eq=False)
class PictureReady:
    """A picture decoded for display before its top-k is known (``workers.picture_loader``).

    ``request_id`` is the inference request made for the same source, so the GUI can tell
    whether its result has already been painted.
    """

    request_id: int
    name: str
    path: Path | None
    image: np.ndarray = field(repr=False)


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
    """The model now in use, after a load or a device switch.

    ``note`` is a problem the user must act on (the red message bar): an engine they chose that
    cannot run, CUDA that is not there. ``engine`` is the app's own decision, which engine runs
    and why (the status bar, the model panel, the log; never the message bar); ``timings`` are
    the batch-1 milliseconds measured on this CPU per engine name, fastest first (Options >
    Engine). A status without ``engine`` (a device switch) leaves the last decision shown.
    """

    info: ModelInfo
    weights: Path | None
    elapsed_ms: float = 0.0
    note: str | None = None
    engine: str | None = None
    timings: tuple[tuple[str, float], ...] = ()
    headline: str | None = None  # the status bar's line for this change, if not the default


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


# -- the "Inside the network" panel ---------------------------------------------------------


@dataclass(frozen=True)
class InspectOptions:
    """What the "Inside the network" panel asks the worker's inspector to draw.

    The panel builds a new one for every change in the GUI thread and sends it inside each
    :class:`ClassifyRequest`. Frozen, so one object can be shared between the threads as it is.
    ``channel`` is the clicked feature map of ``layer``; ``class_index`` the class the Explain
    tab explains (``None``: the top-1); ``gradcam`` is off while that tab is not shown, so the
    backward pass is paid for only when someone looks at it (the name is its first method's).
    ``method`` is one of ``core.visualize.explain.METHODS``: the worker draws the cheap ones;
    Score-CAM and occlusion run as a background job on a still picture. ``explain_layer`` is the
    layer a CAM method reads (``None``: relu5); the occlusion patch and stride are in pixels of
    the model's input.
    """

    layer: str = "conv1"
    sort_by_mean: bool = False
    normalisation: str = "map"
    colormap: str = "viridis"
    opacity: float = 0.5
    channel: int | None = None
    gradcam: bool = False
    class_index: int | None = None
    kernel_normalisation: str = "minmax"
    method: str = "gradcam"
    explain_layer: str | None = None
    occlusion_patch: int = 32
    occlusion_stride: int = 16
    # the unit view (issue #16): the selected unit and how its image is backpropagated
    # ("guided" or "deconv"); ``unit_layer`` is ``None`` while no unit image is wanted.
    unit_layer: str | None = None
    unit: int | None = None
    unit_mode: str = "guided"


@dataclass(frozen=True, eq=False)
class UnitImage:
    """The selected unit seen through one picture: its backprop image and its layer's best units.

    ``image`` is the deconvnet or guided-backprop image of the unit (HxWx3 uint8; ``None`` with
    ``message`` when the unit does not exist); ``value`` its activation (a channel: its maximum);
    ``count`` the units of the layer; ``top`` its strongest units here, (index, value), best first.
    ``fresh`` is ``False`` on frames that reuse the last image (a capped rate).
    """

    layer: str
    unit: int
    mode: str
    image: np.ndarray | None = field(repr=False)
    value: float
    count: int
    top: tuple[tuple[int, float], ...]
    fresh: bool = True
    message: str = ""

    def stale(self) -> UnitImage:
        """The same image, marked as reused for a later frame."""
        return UnitImage(self.layer, self.unit, self.mode, self.image, self.value, self.count,
                         self.top, False, self.message)


@dataclass(frozen=True, eq=False)
class ChannelView:
    """One feature map the user clicked: enlarged, and blended over the crop and the picture."""

    layer: str
    channel: int
    image: np.ndarray = field(repr=False)
    crop_overlay: np.ndarray = field(repr=False)
    display_overlay: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class InsideViews:
    """The inspector's ``ClassifyResult.views``: every picture of the panel, ready to paint.

    ``network`` is a :class:`~alexnet_gui.core.visualize.inside.NetworkView`, ``kernels`` a
    :class:`~alexnet_gui.core.visualize.inside.KernelGrid` (the same object for every result of
    one model, so the panel repaints it only when it changes) and ``gradcam`` the Explain tab's
    :class:`~alexnet_gui.core.visualize.inside.ExplanationView` or ``None``. On frames it runs
    at a capped rate: ``gradcam_fresh`` is ``False`` when the map is the last one computed,
    blended over this frame. ``layers`` are the names the layer list offers.
    ``explain_estimate_s`` is, for a slow method, about how long its job would take here.
    """

    options: InspectOptions
    network: NetworkView = field(repr=False)
    kernels: KernelGrid = field(repr=False)
    layers: tuple[str, ...]
    channel: ChannelView | None = None
    gradcam: ExplanationView | None = field(default=None, repr=False)
    gradcam_fresh: bool = False
    frame: bool = False
    input_note: str = ""
    explain_estimate_s: float | None = None
    unit: UnitImage | None = field(default=None, repr=False)


# -- Teach (issue #17): examples on disk, and a taught model ----------------------------------


@dataclass(frozen=True, eq=False)
class TeachExample:
    """One example file of a Teach class, with a small RGB thumbnail (``None``: unreadable)."""

    class_name: str
    path: Path
    thumbnail: np.ndarray | None = field(repr=False)


@dataclass(frozen=True)
class TeachTrained:
    """A taught model, saved: ``val_acc`` on ``val_count`` held-out examples (``evaluated_on``
    ``"held-out"``), or ``None`` with ``"training"`` when too few were there to hold any out."""

    checkpoint: Path
    classes: tuple[str, ...]
    examples: int
    train_acc: float
    val_acc: float | None
    val_count: int
    evaluated_on: str
    seconds: float
