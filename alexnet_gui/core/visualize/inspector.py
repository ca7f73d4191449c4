"""The "Inside the network" panel's pictures for one request, with what is worth keeping between.

:class:`NetworkInspector` belongs to the inference worker, which calls it in its own thread for a
request that carries :class:`~alexnet_gui.messages.InspectOptions`. One call runs
:func:`~alexnet_gui.core.visualize.inside.look_inside` (one forward pass: the prediction, the
chosen layer's grid and the Explain tab's map) and adds what the panel's clicks ask for, so the
GUI thread only paints. What it keeps between calls is why it is an object: conv1's grid, drawn
once per model, and the last explanation, reused on frames that come faster than
:data:`GRADCAM_MAX_RATE`. The slow methods (Score-CAM, occlusion) are never run here: the views
carry an estimate of their time instead, and the panel runs them as a job. Nothing in it is
shared with another thread.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from alexnet_gui.core.imaging.decode import display_array
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.architectures import NamedLayer
from alexnet_gui.core.results import Prediction
from alexnet_gui.core.visualize.drawing import feature_map, overlay
from alexnet_gui.core.visualize.explain import SLOW_METHODS
from alexnet_gui.core.visualize.inside import (
    ExplanationView,
    KernelGrid,
    NetworkView,
    crop_box,
    explanation_view,
    kernel_view,
    look_inside,
)
from alexnet_gui.core.visualize.units.live import UnitTracker
from alexnet_gui.messages import ChannelView, InsideViews, InspectOptions

#: Explanations (Grad-CAM and the other cheap methods) per second on frames. Each costs about
#: two more forward passes; capped, a CPU keeps up with the camera, and the map in between is the
#: last one over the newest frame.
GRADCAM_MAX_RATE = 8.0
#: conv1's 11x11 kernels drawn 4x: 44-pixel tiles, a 359x359 grid for 64 kernels.
KERNEL_SCALE = 4
#: Classes the Grad-CAM tab offers: the top 5, whatever top-k the window shows.
TOP_CLASSES = 5
#: The kinds of layer whose output the layer list offers: the convolutional stages.
FEATURE_KINDS = ("conv", "relu", "lrn", "pool")
#: The kinds of layer a CAM method may read (the Explain tab's layer list).
CAM_KINDS = ("conv", "relu")


@dataclass(frozen=True, eq=False)
class _LastCam:
    """The last explanation computed, for frames that skip it, and what it was computed for."""

    view: ExplanationView
    time: float
    key: tuple[object, ...]


class NetworkInspector:
    """Draws :class:`~alexnet_gui.messages.InsideViews` for one image at a time, in one thread.

    Args:
        gradcam_max_rate: Grad-CAMs per second at most on frames; still images always get one.
        clock: seconds, for the rate cap (tests pass a fake one).
    """

    def __init__(self, *, gradcam_max_rate: float = GRADCAM_MAX_RATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / gradcam_max_rate if gradcam_max_rate > 0 else 0.0
        self._clock = clock
        self._kernels: KernelGrid | None = None
        self._kernels_of: weakref.ref[Classifier] | None = None
        self._last_cam: _LastCam | None = None
        self._units = UnitTracker(clock=clock)  # the unit view's backprop image (issue #16)

    def look(
        self,
        classifier: Classifier,
        image: Image.Image,
        options: InspectOptions,
        *,
        topk: int = 5,
        tta: bool = False,
        frame: bool = False,
        display: np.ndarray | None = None,
    ) -> tuple[Prediction, InsideViews]:
        """The prediction (``topk`` classes, TenCrop if ``tta``) and the panel's views of ``image``.

        ``frame`` marks a camera or video frame, whose Grad-CAM is rate-capped; ``display`` is the
        picture as shown (``None``: made here with
        :func:`~alexnet_gui.core.imaging.decode.display_array`).
        """
        kernels = self._kernel_grid(classifier, options.kernel_normalisation)
        layers = feature_layers(classifier)
        layer = options.layer if options.layer in layers else layers[0]
        class_index = options.class_index
        if class_index is not None and not 0 <= class_index < len(classifier.spec.categories):
            class_index = None  # a class of the previous model
        cam_layer = options.explain_layer
        if cam_layer not in cam_layers(classifier):
            cam_layer = None  # relu5; a layer of the previous model, or none chosen yet
        explain_here = options.gradcam and options.method not in SLOW_METHODS
        key = (class_index, options.opacity, options.method, cam_layer)
        fresh = explain_here and self._gradcam_due(frame, key)
        display = display_array(image) if display is None else display
        network = look_inside(  # at least the top 5: the Explain tab offers any of them
            classifier, image, layer=layer, gradcam=fresh, method=options.method,
            cam_layer=cam_layer, class_index=class_index,
            topk=max(TOP_CLASSES, topk), sort_by_mean=options.sort_by_mean,
            normalisation=options.normalisation, colormap_name=options.colormap,
            opacity=options.opacity, display=display,
        )
        if fresh and network.explanation is not None:
            self._last_cam = _LastCam(network.explanation, self._clock(), key)
        cam = network.explanation if fresh else None
        if explain_here and not fresh and self._last_cam is not None:
            box = crop_box(image.width, image.height, classifier.spec.preprocessing)
            cam = _reblend(self._last_cam.view, network, display, box, options.opacity)
        estimate = None
        if options.gradcam and not explain_here:
            passes = slow_passes(classifier, options.method, cam_layer, options.occlusion_patch,
                                 options.occlusion_stride)
            estimate = passes * network.prediction.elapsed_ms / 1000.0
        prediction = dataclasses.replace(network.prediction,
                                         scores=network.prediction.scores[:topk])
        if tta:  # look_inside sees the center crop only; the answer must honour TTA
            prediction = classifier.classify(image, topk=topk, tta=True)
        views = InsideViews(
            options=options,
            network=network,
            kernels=kernels,
            layers=layers,
            channel=_channel_view(classifier, image, network, display, options),
            gradcam=cam,
            gradcam_fresh=fresh,
            frame=frame,
            input_note=input_note(classifier),
            explain_estimate_s=estimate,
            unit=self._units.view(classifier, image, options, frame=frame),
        )
        return prediction, views

    def _gradcam_due(self, frame: bool, key: tuple[object, ...]) -> bool:
        last = self._last_cam
        if not frame or last is None or last.key != key:
            return True
        return self._clock() - last.time >= self._interval

    def _kernel_grid(self, classifier: Classifier, normalisation: str) -> KernelGrid:
        """conv1's grid, drawn once per model (and per normalisation), then reused."""
        owner = self._kernels_of() if self._kernels_of is not None else None
        grid = self._kernels
        if owner is not classifier or grid is None or grid.normalisation != normalisation:
            grid = kernel_view(classifier, scale=KERNEL_SCALE, normalisation=normalisation)
            self._kernels, self._kernels_of = grid, weakref.ref(classifier)
            self._last_cam = None  # a new model: its explanation must not be reused either
        return grid


def feature_layers(classifier: Classifier) -> tuple[str, ...]:
    """conv, ReLU, LRN and pool layers up to pool5: the ones with maps to tile."""
    names: list[str] = []
    for layer in classifier.layers:
        if layer.kind == "avgpool":
            break
        if layer.kind in FEATURE_KINDS:
            names.append(layer.name)
    return tuple(names)


def cam_layers(classifier: Classifier) -> tuple[str, ...]:
    """The conv and ReLU layers up to relu5: those the Explain tab's CAM methods may read."""
    names = feature_layers(classifier)
    kinds = {layer.name: layer.kind for layer in classifier.layers}
    return tuple(name for name in names if kinds[name] in CAM_KINDS)


def slow_passes(classifier: Classifier, method: str, layer: str | None, patch: int,
                stride: int) -> int:
    """About how many forward passes a slow method takes: one per channel or patch, plus one."""
    if method == "occlusion":
        side = classifier.spec.preprocessing.crop_size
        per_side = max(0, side - patch) // max(1, stride) + 1
        per_side += 1 if max(0, side - patch) % max(1, stride) else 0  # flush with the edge
        return per_side * per_side + 1
    channels = _channels(classifier.layers, layer or cam_layers(classifier)[-1])
    return channels + 1


def _channels(layers: list[NamedLayer], name: str) -> int:
    """The output channels of ``name``: those of the last conv at or before it."""
    channels = 0
    for layer in layers:
        out = getattr(layer.module, "out_channels", None)
        if isinstance(out, int):
            channels = out
        if layer.name == name:
            break
    return channels


def input_note(classifier: Classifier) -> str:
    """One line on how the picture became the model's input, from the weights' own spec."""
    pre = classifier.spec.preprocessing
    mean = ", ".join(f"{v:.3f}" for v in pre.mean)
    std = ", ".join(f"{v:.3f}" for v in pre.std)
    return (f"{pre.crop_size} × {pre.crop_size} px: short side resized to {pre.resize_size} "
            f"({pre.interpolation}), centre crop {pre.crop_size}; shown denormalised "
            f"(mean {mean}, std {std})")


def _channel_view(classifier: Classifier, image: Image.Image, network: NetworkView,
                  display: np.ndarray, options: InspectOptions) -> ChannelView | None:
    """The clicked map enlarged to about the crop's size, and blended over crop and picture."""
    layer, channel = network.layer, options.channel
    if layer is None or channel is None or layer not in network.activations:
        return None
    values = network.activations[layer]
    if values.ndim != 3 or not 0 <= channel < values.shape[0]:
        return None
    scale = max(1, network.model_input.shape[0] // values.shape[1])
    box = crop_box(image.width, image.height, classifier.spec.preprocessing)
    blend = functools.partial(overlay, opacity=options.opacity, colormap_name=options.colormap)
    return ChannelView(
        layer,
        channel,
        feature_map(network.activations, layer, channel, colormap_name=options.colormap,
                    scale=scale),
        blend(network.model_input, values[channel]),
        blend(display, values[channel], box=box),
    )


def _reblend(last: ExplanationView, network: NetworkView, display: np.ndarray,
             box: tuple[float, float, float, float], opacity: float) -> ExplanationView:
    """The last explanation over this frame: the map lags a little, the picture does not."""
    view = explanation_view(last.explanation, categories=(), model_input=network.model_input,
                            display=display, box=box, opacity=opacity)
    return dataclasses.replace(view, label=last.label)
