"""Score-CAM (Wang et al., 2020): each channel weighted by what it alone lets the model see.

Every map ``A_k`` of the layer (relu5 by default) is upsampled bilinearly to the input and min-max
scaled to a mask ``H_k`` in [0, 1]; the model classifies ``X * H_k``, and the channel's weight is
its Channel-wise Increase of Confidence, ``C_k = p_c(X * H_k) - p_c(X_b)``, with ``p_c`` the
class's softmax probability and the baseline ``X_b = X * 0`` (the input fully masked, i.e. the
dataset's mean colour after normalisation). The map is ``ReLU(sum_k C_k A_k)``, upsampled to the
input and divided by its maximum.

A constant map gives an all-zero mask, whose input is the baseline itself: its weight is exactly 0,
so those channels (relu5 has many dead ones) are skipped. The rest run ``batch_size`` at a time,
with progress after each batch and cancellation between them.
"""

from __future__ import annotations

import torch
from torch import nn

from alexnet_gui.core.models.architectures import named_layers
from alexnet_gui.core.visualize.explain.base import (
    Cancelled,
    ExplainOptions,
    Explanation,
    Progress,
    batches,
    check_class,
    check_spatial,
    step,
    to_input_map,
)
from alexnet_gui.core.visualize.gradcam import LayerProbe, default_target, find_layer


def input_masks(activation: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(K, h, w) maps to (K, H, W) masks: upsampled bilinearly, each min-max scaled to [0, 1]."""
    upsampled = nn.functional.interpolate(activation[None].float(), size=size, mode="bilinear",
                                          align_corners=False)[0]  # fmt: skip
    low = upsampled.amin(dim=(1, 2), keepdim=True)
    span = upsampled.amax(dim=(1, 2), keepdim=True) - low
    return torch.where(span > 0, (upsampled - low) / span.clamp(min=1e-12),
                       torch.zeros_like(upsampled))  # fmt: skip


def score_cam(model: nn.Module, batch: torch.Tensor, options: ExplainOptions, *,
              progress: Progress | None = None, cancelled: Cancelled | None = None) -> Explanation:
    layers = named_layers(model)
    target = default_target(layers) if options.layer is None else find_layer(layers, options.layer)
    size = (int(batch.shape[-2]), int(batch.shape[-1]))
    with torch.no_grad():
        with LayerProbe(target.module) as probe:
            logits = model(batch)
        if probe.output is None:
            raise RuntimeError(f"layer {target.name} did not run in the forward pass")
        activation = probe.output
        check_spatial(activation, target.name)
        class_index = check_class(options.class_index, logits)
        score = float(torch.softmax(logits.float(), dim=1)[0, class_index])
        maps = activation[0].float()
        masks = input_masks(maps, size)
        live = torch.nonzero(masks.flatten(1).amax(dim=1) > 0).flatten()
        baseline_logits = model(torch.zeros_like(batch)).float()
        baseline = float(torch.softmax(baseline_logits, dim=1)[0, class_index])
        weights = torch.zeros(maps.shape[0], dtype=torch.float32, device=maps.device)
        total = int(live.numel())
        step(0, total, progress, cancelled)
        for start, stop in batches(total, options.batch_size):
            channels = live[start:stop]
            masked = batch * masks[channels, None].to(batch.dtype)
            probabilities = torch.softmax(model(masked).float(), dim=1)[:, class_index]
            weights[channels] = probabilities - baseline
            step(stop, total, progress, cancelled)
        cam = torch.relu(torch.einsum("k,khw->hw", weights, maps))
    return Explanation("scorecam", target.name, class_index, score, to_input_map(cam, size))
