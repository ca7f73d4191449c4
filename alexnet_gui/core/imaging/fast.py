"""Faster pre-processing for camera frames and folders, within 1% of the still-image path.

The still-image path (:mod:`.preprocess`) decodes with Pillow into a PIL image
and resizes it there: 2.7 ms for a 640x480 JPEG on the reference CPU, more than an int8 forward
pass. Here a frame goes straight from its numpy array to a uint8 tensor, and a JPEG is decoded by
OpenCV's ``imdecode`` (libjpeg-turbo, EXIF orientation applied; torchvision's ``decode_jpeg`` is
as fast but deprecated since torchvision 0.29); both are resized with torch's uint8 antialiased
kernel, which follows Pillow's filter, then cropped and normalised as before. Anything that is
not a plain RGB or grey JPEG (PNG, CMYK, a damaged file) takes the still-image path, which also
gives the usual one-line error.
"""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch
from torch.nn.functional import interpolate

from alexnet_gui.core.imaging.decode import decode_for_model
from alexnet_gui.core.imaging.numpy_preprocess import (
    aspect_limited_box,
    center_crop_box,
    resized_size,
)
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.models.spec import Preprocessing


def _native_uint8(interpolation: str) -> bool:
    """Whether torch resizes uint8 directly (torchvision's rule): bilinear where the CPU has AVX2
    or is an ARM, bicubic always; otherwise through float32 and rounding back."""
    if interpolation == "bilinear":
        capability = torch.backends.cpu.get_cpu_capability()
        return capability in ("AVX2", "AVX512") or platform.machine() in ("aarch64", "arm64")
    return interpolation == "bicubic"


def resize_uint8(image: torch.Tensor, pre: Preprocessing) -> torch.Tensor:
    """A (3, H, W) uint8 picture with its short side at ``pre.resize_size``, antialiased.

    torchvision's ``v2.functional.resize`` on a uint8 tensor, in torch alone (torchvision costs
    3-4 s of start-up): the same kernel, the same output size, the same rounding.
    """
    channels, height, width = image.shape
    new_width, new_height = resized_size(width, height, pre.resize_size)
    if (new_height, new_width) == (height, width):
        return image
    mode = pre.interpolation
    smooth = mode in ("bilinear", "bicubic")
    batch = image.reshape(1, channels, height, width)
    strides = batch.stride()
    numel = batch.numel()
    if batch.is_contiguous(memory_format=torch.channels_last) and numel != strides[0]:
        # a channels-last view of an HWC array: give the batch dimension a stride torch accepts
        batch = batch.as_strided((1, channels, height, width), (numel, *strides[1:]))
    cast = not (mode.startswith("nearest") or _native_uint8(mode))
    if cast:
        batch = batch.to(torch.float32)
    resized = interpolate(
        batch,
        size=[new_height, new_width],
        mode=mode,
        align_corners=False if smooth else None,
        antialias=smooth,
    )
    if cast:
        if mode == "bicubic":
            resized = resized.clamp_(0, 255)
        resized = resized.round_().to(torch.uint8)
    return resized.reshape(channels, new_height, new_width)


def uint8_tensor(image: torch.Tensor, pre: Preprocessing) -> torch.Tensor:
    """A (3, H, W) uint8 picture to the (3, crop, crop) float model input."""
    box = aspect_limited_box(image.shape[2], image.shape[1])  # as the still path: no 12 GB resize
    if box is not None:
        left, top, right, bottom = box
        image = image[:, top:bottom, left:right]
    image = resize_uint8(image, pre)
    crop = pre.crop_size
    if image.shape[1] < crop or image.shape[2] < crop:  # never with a checked spec; as torchvision
        pad_h, pad_w = max(0, crop - image.shape[1]), max(0, crop - image.shape[2])
        image = torch.nn.functional.pad(
            image, [pad_w // 2, (pad_w + 1) // 2, pad_h // 2, (pad_h + 1) // 2]
        )
    left, top, right, bottom = center_crop_box(image.shape[2], image.shape[1], crop)
    scaled = image[:, top:bottom, left:right].to(torch.float32) / 255.0
    mean = torch.tensor(pre.mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(pre.std, dtype=torch.float32).view(3, 1, 1)
    return scaled.sub_(mean).div_(std)


def frame_tensor(frame: np.ndarray, pre: Preprocessing) -> torch.Tensor:
    """An HxWx3 RGB uint8 array (a camera frame) to the model input, without Pillow."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got {frame.shape} {frame.dtype}")
    if not frame.flags.writeable or not frame.flags.c_contiguous:
        frame = np.array(frame)  # torch refuses to share a read-only buffer (0.1 ms for VGA)
    # HWC memory seen as CHW: the channels-last layout torch's uint8 resize kernel is fast on.
    return uint8_tensor(torch.from_numpy(frame).permute(2, 0, 1), pre)


def file_tensor(path: Path, pre: Preprocessing) -> torch.Tensor:
    """A file to the model input: OpenCV for plain JPEGs, Pillow for everything else
    (:func:`alexnet_gui.core.imaging.decode.decode_for_model`)."""
    pixels = decode_for_model(path)
    if isinstance(pixels, np.ndarray):
        return frame_tensor(pixels, pre)
    return eval_transform(pre)(pixels)
