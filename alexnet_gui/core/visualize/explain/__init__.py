"""Why the model chose a class, and what drives one unit: the explanation methods of issue #16.

One entry point, :func:`explain`, runs any of :data:`METHODS` on one preprocessed image; each
method lives with its family (``cams``: Grad-CAM, Grad-CAM++, LayerCAM; ``scorecam``; ``guided``:
guided backpropagation, guided Grad-CAM and :func:`unit_backprop`; ``occlusion``), and
``rendering`` turns results into pictures. No Qt here; the panel's worker and
``alexnet-gui explain`` both call this package. Every method leaves the model as it found it: no
hooks, no ``.grad``, no changed ``requires_grad`` or mode.
"""

from __future__ import annotations

import torch
from torch import nn

from alexnet_gui.core.visualize.explain.base import (
    GRADIENT_METHODS,
    LAYER_METHODS,
    METHOD_LABELS,
    METHODS,
    SLOW_METHODS,
    Cancelled,
    ExplainOptions,
    Explanation,
    ExplanationCancelled,
    Progress,
    check_batch,
    grad_enabled,
)
from alexnet_gui.core.visualize.explain.cams import gradient_cam
from alexnet_gui.core.visualize.explain.guided import (
    BACKPROP_MODES,
    guided_backprop,
    guided_gradcam,
    unit_backprop,
)
from alexnet_gui.core.visualize.explain.occlusion import occlusion
from alexnet_gui.core.visualize.explain.rendering import (
    EXPLAIN_COLORMAPS,
    explanation_rgb,
    gradient_rgb,
)
from alexnet_gui.core.visualize.explain.scorecam import score_cam

__all__ = [
    "BACKPROP_MODES",
    "EXPLAIN_COLORMAPS",
    "GRADIENT_METHODS",
    "LAYER_METHODS",
    "METHODS",
    "METHOD_LABELS",
    "SLOW_METHODS",
    "ExplainOptions",
    "Explanation",
    "ExplanationCancelled",
    "explain",
    "explanation_rgb",
    "gradient_rgb",
    "unit_backprop",
]


def explain(model: nn.Module, batch: torch.Tensor, options: ExplainOptions, *,
            progress: Progress | None = None, cancelled: Cancelled | None = None) -> Explanation:
    """Explain ``options.class_index`` (the top-1 by default) for one image.

    Args:
        model: the classifier's torch model, in eval mode, on ``batch``'s device.
        batch: 1 x 3 x H x W, normalised as the model expects.
        options: the method and its settings.
        progress: ``(done, total)`` after each batch of the slow methods (Score-CAM, occlusion).
        cancelled: asked between batches; when it returns true, ExplanationCancelled is raised.

    Raises:
        ValueError: an unknown method, a layer the model lacks or without maps, a class index
            out of range, a bad patch or stride.
    """
    check_batch(batch)
    method = options.method
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "scorecam":
        return score_cam(model, batch, options, progress=progress, cancelled=cancelled)
    if method == "occlusion":
        return occlusion(model, batch, options, progress=progress, cancelled=cancelled)
    if method == "guided-backprop":
        return guided_backprop(model, batch, options)
    if method == "guided-gradcam":
        return guided_gradcam(model, batch, options)
    with grad_enabled():
        return gradient_cam(model, batch, options)
