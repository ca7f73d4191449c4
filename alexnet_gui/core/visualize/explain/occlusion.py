"""Occlusion sensitivity (Zeiler & Fergus, 2014): how much the class loses where a patch hides.

A square grey patch (0 in the normalised input: the dataset's mean colour) slides over the model
input with a stride; at each position the model classifies the occluded input, and the drop of the
class's softmax probability, ``p_c(X) - p_c(X occluded)``, is credited to every pixel the patch
covered. Pixels under several patches get the mean of their drops. Negative drops (hiding a part
made the class more likely) are clipped to 0, and the map is divided by its maximum: 1 is where
hiding costs the class most, 0 where hiding costs nothing.

Positions run ``batch_size`` at a time, with progress after each batch and cancellation between
them. The last row and column of positions sit flush with the edge, so every pixel is covered.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from alexnet_gui.core.visualize.explain.base import (
    Cancelled,
    ExplainOptions,
    Explanation,
    Progress,
    batches,
    check_class,
    step,
    unit_scale,
)


def patch_starts(length: int, patch: int, stride: int) -> list[int]:
    """Where the patch starts along one side: every ``stride``, and flush with the far edge."""
    if patch < 1 or stride < 1:
        raise ValueError(f"patch and stride must be at least 1 (got {patch} and {stride})")
    patch = min(patch, length)
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def occlusion(model: nn.Module, batch: torch.Tensor, options: ExplainOptions, *,
              progress: Progress | None = None, cancelled: Cancelled | None = None) -> Explanation:
    height, width = int(batch.shape[-2]), int(batch.shape[-1])
    ys = patch_starts(height, options.occlusion_patch, options.occlusion_stride)
    xs = patch_starts(width, options.occlusion_patch, options.occlusion_stride)
    patch_h, patch_w = min(options.occlusion_patch, height), min(options.occlusion_patch, width)
    positions = [(y, x) for y in ys for x in xs]
    drops = np.zeros((height, width), np.float64)
    counts = np.zeros((height, width), np.float64)
    with torch.no_grad():
        logits = model(batch)
        class_index = check_class(options.class_index, logits)
        score = float(torch.softmax(logits.float(), dim=1)[0, class_index])
        total = len(positions)
        step(0, total, progress, cancelled)
        for start, stop in batches(total, options.batch_size):
            part = positions[start:stop]
            occluded = batch.repeat(len(part), 1, 1, 1)
            for i, (y, x) in enumerate(part):
                occluded[i, :, y : y + patch_h, x : x + patch_w] = 0
            probabilities = torch.softmax(model(occluded).float(), dim=1)[:, class_index]
            for (y, x), p in zip(part, probabilities.cpu().tolist(), strict=True):
                drops[y : y + patch_h, x : x + patch_w] += score - p
                counts[y : y + patch_h, x : x + patch_w] += 1
            step(stop, total, progress, cancelled)
    mean = np.clip(drops / counts, 0.0, None)
    return Explanation("occlusion", None, class_index, score, unit_scale(mean))
