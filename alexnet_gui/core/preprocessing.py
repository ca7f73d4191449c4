"""Image to tensor, derived from a :class:`Preprocessing` spec.

For still images this is exactly torchvision's ``ImageClassification`` preset (resize the short
side with antialiasing, center crop, scale to [0, 1], normalise), written with torchvision's public
functional API so our probabilities equal torchvision's on the same weights.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from alexnet_gui.core.weights import Preprocessing

Transform = Callable[[Image.Image], torch.Tensor]


def _interpolation(pre: Preprocessing) -> InterpolationMode:
    return InterpolationMode(pre.interpolation)


def _resize(image: Image.Image, pre: Preprocessing) -> Image.Image:
    return F.resize(image, [pre.resize_size], interpolation=_interpolation(pre), antialias=True)


def _normalise(image: Image.Image | torch.Tensor, pre: Preprocessing) -> torch.Tensor:
    tensor = F.pil_to_tensor(image) if isinstance(image, Image.Image) else image
    tensor = F.convert_image_dtype(tensor, torch.float)
    return F.normalize(tensor, mean=list(pre.mean), std=list(pre.std))


def eval_transform(pre: Preprocessing) -> Transform:
    """Resize, center crop, normalise: a (3, crop, crop) float tensor."""

    def transform(image: Image.Image) -> torch.Tensor:
        image = F.center_crop(_resize(image, pre), [pre.crop_size])
        return _normalise(image, pre)

    return transform


def tencrop_transform(pre: Preprocessing) -> Transform:
    """The four corners and the center, and their mirror images: a (10, 3, crop, crop) tensor."""

    def transform(image: Image.Image) -> torch.Tensor:
        crops = F.ten_crop(_resize(image, pre), [pre.crop_size])
        return torch.stack([_normalise(crop, pre) for crop in crops])

    return transform


def denormalise(tensor: torch.Tensor, pre: Preprocessing) -> np.ndarray:
    """A (3, H, W) model input back to an HxWx3 uint8 picture: what the network sees."""
    mean = torch.tensor(pre.mean, dtype=tensor.dtype, device=tensor.device).view(3, 1, 1)
    std = torch.tensor(pre.std, dtype=tensor.dtype, device=tensor.device).view(3, 1, 1)
    pixels = (tensor * std + mean).clamp(0, 1).mul(255).round().byte()
    return np.ascontiguousarray(pixels.permute(1, 2, 0).cpu().numpy())
