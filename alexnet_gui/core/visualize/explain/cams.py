"""Gradient-weighted class activation maps: Grad-CAM, Grad-CAM++ and LayerCAM.

All three take one forward pass with gradients, keep one layer's maps ``A`` (K x h x w) and the
gradient ``g = dy^c/dA`` of the class's logit, and differ only in how they weigh ``A``:

- Grad-CAM (Selvaraju et al., 2017): ``w_k = mean_ij g_kij``, ``ReLU(sum_k w_k A_k)``. The
  computation is :func:`~alexnet_gui.core.visualize.gradcam.compute_grad_cam`, the panel's own.
- Grad-CAM++ (Chattopadhay et al., 2018), eq. 19 of the paper, with ``Y = exp(y^c)``: for a
  piecewise-linear network the second and third derivatives of ``Y`` are ``exp(y^c)`` times the
  powers of ``g``, and the closed form is
  ``alpha_kij = g^2 / (2 g^2 + sum_ab A_kab g^3)``, ``w_k = sum_ij alpha_kij ReLU(dY/dA_kij)``.
  ``dY/dA = exp(y^c) g``; the factor ``exp(y^c)`` is the same for every channel and position, so
  it only scales the map, which is normalised anyway: it is left out (it would overflow for a
  confident logit). Where the denominator is 0 the numerator is too (``g = 0``): ``alpha = 0``.
- LayerCAM (Jiang et al., 2021): ``ReLU(sum_k ReLU(g_k) * A_k)``, elementwise weights, so it
  works at any conv or ReLU layer, early ones included.

Each map is upsampled bilinearly to the model input and divided by its maximum.
"""

from __future__ import annotations

import torch
from torch import nn

from alexnet_gui.core.visualize.explain.base import (
    ExplainOptions,
    Explanation,
    check_class,
    check_spatial,
    probability,
    to_input_map,
)
from alexnet_gui.core.visualize.gradcam import class_gradient, compute_grad_cam, probed_forward


def gradcam_pp_cam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++'s (h, w) map from one image's (K, h, w) maps and their gradient."""
    a, g = activation.float(), gradient.float()
    g2, g3 = g.pow(2), g.pow(3)
    denominator = 2.0 * g2 + a.sum(dim=(1, 2), keepdim=True) * g3
    safe = torch.where(denominator != 0, denominator, torch.ones_like(denominator))
    alpha = torch.where(denominator != 0, g2 / safe, torch.zeros_like(g2))
    weights = (alpha * torch.relu(g)).sum(dim=(1, 2))
    return torch.relu(torch.einsum("k,khw->hw", weights, a))


def layercam_cam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """LayerCAM's (h, w) map from one image's (K, h, w) maps and their gradient."""
    return torch.relu((torch.relu(gradient.float()) * activation.float()).sum(dim=0))


def gradient_cam(model: nn.Module, batch: torch.Tensor, options: ExplainOptions) -> Explanation:
    """Grad-CAM, Grad-CAM++ or LayerCAM (``options.method``) of one preprocessed image.

    Run with gradients enabled (:func:`~alexnet_gui.core.visualize.explain.base.grad_enabled`).
    """
    size = (int(batch.shape[-2]), int(batch.shape[-1]))
    inputs = batch.detach().clone().requires_grad_(True)
    logits, activation, layer = probed_forward(model, inputs, options.layer)
    check_spatial(activation, layer)
    class_index = check_class(options.class_index, logits)
    score = probability(logits, class_index)
    if options.method == "gradcam":
        result = compute_grad_cam(activation, logits, class_index=class_index, size=size,
                                  layer=layer)  # fmt: skip
        cam = torch.from_numpy(result.cam)  # scaled by its peak: the same map after to_input_map
    else:
        _, _, gradient = class_gradient(activation, logits, class_index)
        maps, grads = activation[0].detach(), gradient[0]
        cam = gradcam_pp_cam(maps, grads) if options.method == "gradcam++" else layercam_cam(
            maps, grads)  # fmt: skip
    return Explanation(options.method, layer, class_index, score, to_input_map(cam, size))
