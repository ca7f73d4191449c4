"""torchvision's eval preset in Pillow and numpy: the same model input without torch.

Why: ``import torchvision`` costs 3-4 s (its ops import ``torch._dynamo``), and the fast start
path (:mod:`alexnet_gui.core.inference.quick`) runs without torch at all. The steps are the ones
torchvision's ``ImageClassification`` preset takes on a PIL image, in the same order and with the
same rounding: Pillow resizes the short side (torchvision hands PIL images to Pillow too, with the
same filter and output size), the center crop starts at ``round((size - crop) / 2)``, the
pixels are divided by 255 and normalised in float32. The result equals torchvision's within
float32 rounding (tests/core/imaging/test_numpy_preprocess.py checks 1e-5 on real photos).

Imports numpy and Pillow only; :mod:`.preprocess` wraps these arrays as torch tensors.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from alexnet_gui.core.models.spec import Preprocessing

#: Longest side kept, in multiples of the short side, before the short side is resized. Beyond
#: it only a centred part of the long side is kept (see :func:`limit_aspect`).
MAX_ASPECT = 8

#: torchvision's ``pil_modes_mapping`` for the interpolations a checkpoint may name.
PIL_FILTERS: dict[str, Image.Resampling] = {
    "nearest": Image.Resampling.NEAREST,
    "nearest-exact": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}


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


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side at ``short_side``: torchvision's own arithmetic."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(short_side * long / short)
    return (short_side, new_long) if width <= height else (new_long, short_side)


def resize_short_side(image: Image.Image, pre: Preprocessing) -> Image.Image:
    """The picture (aspect-limited, RGB) with its short side at ``pre.resize_size``."""
    image = limit_aspect(image if image.mode == "RGB" else image.convert("RGB"))
    size = resized_size(*image.size, pre.resize_size)
    if size == image.size:  # torchvision returns such an image untouched
        return image
    return image.resize(size, PIL_FILTERS.get(pre.interpolation, Image.Resampling.BILINEAR))


def center_crop_box(width: int, height: int, crop: int) -> tuple[int, int, int, int]:
    """torchvision's center crop as a (left, top, right, bottom) box (Python's round: to even)."""
    top = round((height - crop) / 2.0)
    left = round((width - crop) / 2.0)
    return left, top, left + crop, top + crop


@functools.lru_cache(maxsize=8)
def _table(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 256) float32: every uint8 value of each channel, divided by 255 and normalised with
    torchvision's float32 operations, so looking a pixel up gives torchvision's number."""
    values = np.arange(256, dtype=np.float32) / np.float32(255.0)
    mean_ = np.asarray(mean, dtype=np.float32)[:, None]
    std_ = np.asarray(std, dtype=np.float32)[:, None]
    return (values[None, :] - mean_) / std_


def normalise(pixels: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """HxWx3 uint8 (or NxHxWx3) to the float32 model input, (3, H, W) (or (N, 3, H, W)).

    A table lookup per channel: the same float32 arithmetic as ``(x / 255 - mean) / std``, done
    once per value instead of once per pixel (a third of the time).
    """
    table = _table(tuple(pre.mean), tuple(pre.std))
    planes = np.ascontiguousarray(np.moveaxis(pixels, -1, -3))  # uint8 planes: cheap to index
    return np.stack([table[c][planes[..., c, :, :]] for c in range(3)], axis=-3)


def _padded(pixels: np.ndarray, crop: int) -> np.ndarray:
    """torchvision pads a picture smaller than the crop with black, as here."""
    height, width = pixels.shape[:2]
    if height >= crop and width >= crop:
        return pixels
    pad_h, pad_w = max(0, crop - height), max(0, crop - width)
    widths = ((pad_h // 2, (pad_h + 1) // 2), (pad_w // 2, (pad_w + 1) // 2), (0, 0))
    return np.pad(pixels, widths)


def crop_pixels(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """The picture the model sees, before normalising: resized, centre-cropped, HxWx3 uint8."""
    pixels = _padded(np.asarray(resize_short_side(image, pre)), pre.crop_size)
    left, top, right, bottom = center_crop_box(pixels.shape[1], pixels.shape[0], pre.crop_size)
    return pixels[top:bottom, left:right]


def eval_array(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """Resize, center crop, normalise: a (3, crop, crop) float32 array."""
    return normalise(crop_pixels(image, pre), pre)


def tencrop_array(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """The four corners and the center, then the same of the mirror image: (10, 3, crop, crop).

    torchvision's ``ten_crop`` order: top-left, top-right, bottom-left, bottom-right, center.
    """
    pixels = np.asarray(resize_short_side(image, pre))
    crop = pre.crop_size
    height, width = pixels.shape[:2]
    if crop > height or crop > width:
        raise ValueError(f"crop size {crop} is bigger than the resized picture {width}x{height}")
    crops = []
    for view in (pixels, pixels[:, ::-1]):
        left, top, _, _ = center_crop_box(width, height, crop)
        for y, x in ((0, 0), (0, width - crop), (height - crop, 0),
                     (height - crop, width - crop), (top, left)):  # fmt: skip
            crops.append(view[y : y + crop, x : x + crop])
    return normalise(np.stack(crops), pre)


def model_input(
    images: list[Image.Image] | tuple[Image.Image, ...], pre: Preprocessing, *, tta: bool = False
) -> np.ndarray:
    """A batch of pictures as the (N, 3, crop, crop) float32 model input; 10 rows per TenCrop."""
    if tta:
        return np.concatenate([tencrop_array(image, pre) for image in images])
    return np.stack([eval_array(image, pre) for image in images])


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32, shifted by the row maximum so large logits do not overflow."""
    shifted = logits.astype(np.float32) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)
