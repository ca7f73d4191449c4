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

from alexnet_gui.core.models.spec import Preprocessing

Transform = Callable[[Image.Image], torch.Tensor]

#: Longest side kept, in multiples of the short side, before the short side is resized. Beyond
#: it only a centred part of the long side is kept (see :func:`limit_aspect`).
MAX_ASPECT = 8


def _interpolation(pre: Preprocessing) -> InterpolationMode:
    return InterpolationMode(pre.interpolation)


def aspect_limited_box(width: int, height: int) -> tuple[int, int, int, int] | None:
    """The centred (left, top, right, bottom) box to keep of a very long, thin image, or None.

    Resizing the short side of a 1x60000 PNG (a few hundred bytes) to 256 px would make a
    256x15,360,000 picture: 12 GB, for a center crop of 224x224. Past :data:`MAX_ASPECT` the long
    side is cut to ``MAX_ASPECT`` times the short side first; the center crop (and TenCrop's
    center) see the same pixels, TenCrop's corners come from the kept part. Images no longer
    than that are untouched, so ordinary photos match torchvision exactly.
    """
    short, long = min(width, height), max(width, height)
    if short < 1 or long <= short * MAX_ASPECT:
        return None
    keep = short * MAX_ASPECT
    start = (long - keep) // 2
    if width > height:
        return start, 0, start + keep, height
    return 0, start, width, start + keep


def limit_aspect(image: Image.Image) -> Image.Image:
    """``image`` cropped by :func:`aspect_limited_box`, or unchanged."""
    box = aspect_limited_box(*image.size)
    return image if box is None else image.crop(box)


def _resize(image: Image.Image, pre: Preprocessing) -> Image.Image:
    return F.resize(
        limit_aspect(image), [pre.resize_size], interpolation=_interpolation(pre), antialias=True
    )


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
