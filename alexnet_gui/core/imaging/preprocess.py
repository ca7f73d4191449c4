"""Image to tensor, derived from a :class:`Preprocessing` spec.

For still images this is torchvision's ``ImageClassification`` preset (resize the short side with
antialiasing, center crop, scale to [0, 1], normalise), computed by :mod:`.numpy_preprocess` with
Pillow and numpy and handed to torch without a copy: the same numbers as torchvision's (tested),
without importing torchvision, whose import alone costs 3-4 s of every start.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from alexnet_gui.core.imaging.numpy_preprocess import (
    MAX_ASPECT,
    aspect_limited_box,
    eval_array,
    limit_aspect,
    tencrop_array,
)
from alexnet_gui.core.models.spec import Preprocessing

__all__ = [
    "MAX_ASPECT",
    "Transform",
    "aspect_limited_box",
    "denormalise",
    "eval_transform",
    "limit_aspect",
    "tencrop_transform",
]

Transform = Callable[[Image.Image], torch.Tensor]


def eval_transform(pre: Preprocessing) -> Transform:
    """Resize, center crop, normalise: a (3, crop, crop) float tensor."""

    def transform(image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(eval_array(image, pre))

    return transform


def tencrop_transform(pre: Preprocessing) -> Transform:
    """The four corners and the center, and their mirror images: a (10, 3, crop, crop) tensor."""

    def transform(image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(tencrop_array(image, pre))

    return transform


def denormalise(tensor: torch.Tensor, pre: Preprocessing) -> np.ndarray:
    """A (3, H, W) model input back to an HxWx3 uint8 picture: what the network sees."""
    mean = torch.tensor(pre.mean, dtype=tensor.dtype, device=tensor.device).view(3, 1, 1)
    std = torch.tensor(pre.std, dtype=tensor.dtype, device=tensor.device).view(3, 1, 1)
    pixels = (tensor * std + mean).clamp(0, 1).mul(255).round().byte()
    return np.ascontiguousarray(pixels.permute(1, 2, 0).cpu().numpy())
