"""What the "look inside" panel paints, made in the worker thread as uint8 pictures.

Two products. :func:`kernel_view` draws conv1's kernels, once per model, since they do not depend
on the image. :func:`look_inside` preprocesses an image once, runs the model once for the top-k
prediction and the chosen layer's feature maps, and, when the Explain tab is shown, explains the
chosen class with one of :mod:`~alexnet_gui.core.visualize.explain`'s methods, all in small
frozen dataclasses. :func:`explanation_view` draws an explanation over the crop and the picture,
for the worker and for the background job of the slow methods alike.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from alexnet_gui.core.imaging.decode import display_array
from alexnet_gui.core.imaging.preprocess import denormalise
from alexnet_gui.core.inference.classifier import Classifier, device_label
from alexnet_gui.core.models.architectures import first_conv
from alexnet_gui.core.models.spec import Preprocessing
from alexnet_gui.core.results import Prediction
from alexnet_gui.core.visualize.drawing import (
    FeatureGrid,
    GridGeometry,
    feature_grid,
    grid_shape,
    minmax,
    tile_grid,
    to_indices,
    upscale,
)
from alexnet_gui.core.visualize.explain import (
    ExplainOptions,
    Explanation,
    explain,
    explanation_rgb,
    gradient_rgb,
)
from alexnet_gui.core.visualize.explain.rendering import map_rgb
from alexnet_gui.core.visualize.gradcam import LayerProbe, find_layer

KERNEL_NORMALISATIONS: tuple[str, ...] = ("minmax", "symmetric")
#: The colour map of explanation heat maps, over the crop and over the picture alike.
EXPLAIN_COLORMAP = "jet"


@dataclass(frozen=True)
class KernelStats:
    """Statistics of one kernel's raw weights, for the hover text."""

    index: int
    min: float
    max: float
    mean: float
    std: float


@dataclass(frozen=True, eq=False)
class KernelGrid:
    """conv1's kernels as colour tiles in an (H, W, 3) uint8 image; kernel i at position i."""

    image: np.ndarray
    geometry: GridGeometry
    stats: tuple[KernelStats, ...]
    normalisation: str
    scale: int

    def kernel_at(self, x: float, y: float) -> int | None:
        return self.geometry.position_at(x, y)


def _kernel_colours(weights: np.ndarray, normalisation: str, scale: int) -> np.ndarray:
    """(N, 3, k, k) weights to (N, k*scale, k*scale, 3) uint8, each kernel normalised alone."""
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 4 or weights.shape[1] != 3:
        raise ValueError(f"expected conv1 weights of shape (N, 3, k, k), got {weights.shape}")
    if normalisation == "minmax":
        unit = minmax(weights, axis=(1, 2, 3))
    elif normalisation == "symmetric":
        # 0 stays mid-grey, so the sign of every weight can be read off the tile.
        bound = np.abs(weights).max(axis=(1, 2, 3), keepdims=True)
        unit = 0.5 + 0.5 * np.divide(weights, bound, out=np.zeros_like(weights), where=bound > 0)
    else:
        raise ValueError(f"unknown normalisation {normalisation!r}; use {KERNEL_NORMALISATIONS}")
    return upscale(to_indices(unit), scale).transpose(0, 2, 3, 1)


def kernel_grid(
    weights: np.ndarray, *, scale: int = 4, normalisation: str = "minmax"
) -> KernelGrid:
    """All kernels of conv1, each min-max normalised over its own RGB weights by default.

    Per-kernel scaling is what the paper's figure 3 does: a kernel's colour pattern stays visible
    however small its weights. ``symmetric`` maps 0 to grey and ±max|w| to black/white instead.
    """
    colours = _kernel_colours(weights, normalisation, scale)
    count, size = colours.shape[:2]
    rows, cols = grid_shape(count)
    geometry = GridGeometry(count, rows, cols, size, size)
    flat = np.asarray(weights, dtype=np.float64).reshape(count, -1)
    columns = zip(flat.min(1), flat.max(1), flat.mean(1), flat.std(1), strict=True)
    stats = tuple(
        KernelStats(i, float(low), float(high), float(mean), float(std))
        for i, (low, high, mean, std) in enumerate(columns)
    )
    image = tile_grid(colours, geometry)
    return KernelGrid(image, geometry, stats, normalisation, scale)


def kernel_tile(
    weights: np.ndarray, index: int, scale: int = 16, *, normalisation: str = "minmax"
) -> np.ndarray:
    """One kernel enlarged, for the click-to-enlarge view: (k*scale, k*scale, 3) uint8."""
    kernel = np.asarray(weights)[index : index + 1]
    return np.ascontiguousarray(_kernel_colours(kernel, normalisation, scale)[0])


def conv1_weights(model: nn.Module) -> np.ndarray:
    """conv1's weights as a float32 (N, 3, k, k) array on the CPU."""
    return first_conv(model).weight.detach().float().cpu().numpy()


def kernel_view(
    classifier: Classifier, *, scale: int = 4, normalisation: str = "minmax"
) -> KernelGrid:
    """conv1's kernels of the loaded model; redraw only when the model changes."""
    return kernel_grid(conv1_weights(classifier.model), scale=scale, normalisation=normalisation)


Box = tuple[float, float, float, float]


def crop_box(width: int, height: int, pre: Preprocessing) -> Box:
    """Where the center crop of ``pre`` lies in a ``width`` x ``height`` picture, as fractions.

    Follows torchvision's arithmetic: the short side is resized to ``resize_size`` (the long side
    truncated), then a ``crop_size`` square is cut with rounded offsets.
    """
    short, long = sorted((width, height))
    new_long = int(pre.resize_size * long / short)
    new_w, new_h = (pre.resize_size, new_long) if width <= height else (new_long, pre.resize_size)
    left = round((new_w - pre.crop_size) / 2.0)
    top = round((new_h - pre.crop_size) / 2.0)
    return (
        left / new_w,
        top / new_h,
        (left + pre.crop_size) / new_w,
        (top + pre.crop_size) / new_h,
    )


@dataclass(frozen=True, eq=False)
class ExplanationView:
    """A class explanation drawn over the crop the model saw and over the whole picture.

    ``crop_box`` is where that crop lies in the picture (x0, y0, x1, y1, fractions of its width and
    height); ``display_overlay`` is coloured inside it only, since the model never saw the rest.
    ``probability`` is the softmax probability of the explained class.
    """

    explanation: Explanation
    label: str
    probability: float
    crop_overlay: np.ndarray
    display_overlay: np.ndarray
    crop_box: Box


def explanation_view(
    explanation: Explanation,
    *,
    categories: Sequence[str],
    model_input: np.ndarray,
    display: np.ndarray,
    box: Box,
    opacity: float = 0.5,
) -> ExplanationView:
    """Draw ``explanation`` over the model's input crop and, inside ``box``, over the picture.

    The crop is drawn as :func:`~alexnet_gui.core.visualize.explain.explanation_rgb` draws it
    (the ``alexnet-gui explain`` PNGs look the same): a heat map blended by ``opacity``, or a
    gradient image on its own. In the picture, the part the model saw gets the same.
    """
    crop = explanation_rgb(explanation, model_input, colormap=EXPLAIN_COLORMAP, opacity=opacity)
    height, width = display.shape[:2]
    left, top = round(box[0] * width), round(box[1] * height)
    right, bottom = round(box[2] * width), round(box[3] * height)
    shown = np.array(display, dtype=np.uint8, copy=True)
    if right > left and bottom > top:
        region = np.ascontiguousarray(shown[top:bottom, left:right])
        if explanation.map.ndim == 2:
            shown[top:bottom, left:right] = map_rgb(explanation.map, region,
                                                    colormap=EXPLAIN_COLORMAP, opacity=opacity)
        else:  # a gradient image replaces the part of the picture the model saw
            size = (right - left, bottom - top)
            image = Image.fromarray(gradient_rgb(explanation.map))
            resized = image.resize(size, Image.Resampling.BILINEAR)
            shown[top:bottom, left:right] = np.asarray(resized)
    index = explanation.class_index
    label = categories[index] if 0 <= index < len(categories) else str(index)
    return ExplanationView(explanation, label, explanation.score, crop, shown, box)


@dataclass(frozen=True, eq=False)
class NetworkView:
    """One image seen through the network.

    ``activations`` holds the chosen layer's raw output only (float32 (C, H, W) or (N,)), for
    :func:`~alexnet_gui.core.visualize.feature_map` and overlays of a clicked channel.
    ``explanation`` is the Explain tab's map (``gradcam`` asked for it), else ``None``.
    """

    prediction: Prediction
    model_input: np.ndarray
    layer: str | None
    activations: dict[str, np.ndarray]
    features: FeatureGrid | None
    explanation: ExplanationView | None
    elapsed_ms: float


def look_inside(
    classifier: Classifier,
    image: Image.Image,
    *,
    layer: str | None = "conv1",
    gradcam: bool = True,
    method: str = "gradcam",
    cam_layer: str | None = None,
    class_index: int | None = None,
    topk: int = 5,
    sort_by_mean: bool = False,
    normalisation: str = "map",
    colormap_name: str = "viridis",
    scale: int | None = None,
    opacity: float = 0.5,
    display: np.ndarray | None = None,
) -> NetworkView:
    """Classify ``image`` and draw what the panel shows, from one preprocessed crop.

    One forward pass gives the top-k and the chosen layer's maps; when ``gradcam`` asks for the
    Explain tab's map, :func:`~alexnet_gui.core.visualize.explain.explain` then runs ``method``
    on the same crop (its own forward pass, with gradients).

    Args:
        classifier: the worker's classifier; its model and device are used as they are.
        image: the RGB picture; it is preprocessed with the classifier's own transform.
        layer: whose feature maps to tile (a name from ``classifier.layers``), or ``None``.
        gradcam: whether to explain a class (the name is the first method's, Grad-CAM).
        method: one of :data:`~alexnet_gui.core.visualize.explain.METHODS`; the slow ones
            (Score-CAM, occlusion) work too but take seconds, so the worker never asks for them.
        cam_layer: the layer a CAM method reads; ``None``: relu5.
        class_index: the class to explain; ``None`` is the top-1 class.
        display: the picture as shown, for the full-picture overlay; ``None`` makes it with
            :func:`~alexnet_gui.core.imaging.display_array`, as the worker does.
        Other options go to :func:`~alexnet_gui.core.visualize.feature_grid` and ``overlay``.
    """
    start = time.perf_counter()
    batch = classifier.preprocess(image).to(classifier.device)
    feature_layer = None if layer is None else find_layer(classifier.layers, layer)
    with torch.inference_mode():
        feature_probe = None if feature_layer is None else LayerProbe(feature_layer.module)
        with feature_probe if feature_probe is not None else contextlib.nullcontext():
            logits = classifier.model(batch)
        probabilities = torch.softmax(logits.float(), dim=1)[0].cpu()
        prediction = _prediction(classifier, probabilities, topk, start)
        model_input = denormalise(batch[0], classifier.spec.preprocessing)

    activations: dict[str, np.ndarray] = {}
    features = None
    if feature_layer is not None and feature_probe is not None and feature_probe.output is not None:
        activations[feature_layer.name] = feature_probe.output[0].float().cpu().numpy()
        features = feature_grid(
            activations,
            feature_layer.name,
            sort_by_mean=sort_by_mean,
            normalisation=normalisation,
            colormap_name=colormap_name,
            scale=scale,
        )
    view = None
    if gradcam:
        target = prediction.scores[0].index if class_index is None else class_index
        options = ExplainOptions(method=method, layer=cam_layer, class_index=target)
        explanation = explain(classifier.model, batch, options)
        view = explanation_view(
            explanation,
            categories=classifier.spec.categories,
            model_input=model_input,
            display=display_array(image) if display is None else display,
            box=crop_box(image.width, image.height, classifier.spec.preprocessing),
            opacity=opacity,
        )
    return NetworkView(
        prediction,
        model_input,
        None if feature_layer is None else feature_layer.name,
        activations,
        features,
        view,
        (time.perf_counter() - start) * 1000.0,
    )


def _prediction(
    classifier: Classifier, probabilities: torch.Tensor, topk: int, start: float
) -> Prediction:
    """The same top-k answer ``Classifier.classify`` gives, timed up to the softmax."""
    scores = classifier.top_scores(probabilities, topk)
    elapsed = (time.perf_counter() - start) * 1000.0
    return Prediction(scores, elapsed, device_label(classifier.device), classifier.spec.name)
