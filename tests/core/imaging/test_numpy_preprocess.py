"""Pillow and numpy give the model the same input as torchvision's preset, on real photos of many
sizes and shapes, for both architectures' presets and for TenCrop (at most 1e-5 apart)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.models import AlexNet_Weights

from alexnet_gui.core.imaging.numpy_preprocess import (
    eval_array,
    model_input,
    softmax,
    tencrop_array,
)
from alexnet_gui.core.imaging.preprocess import eval_transform, tencrop_transform
from alexnet_gui.core.models import imagenet
from alexnet_gui.core.models.spec import Preprocessing

TOLERANCE = 1e-5
PHOTOS = ("chelsea", "astronaut", "coffee", "camera", "rocket")
#: (left, top, right, bottom) as fractions of the photo: whole, wide, tall, small, square.
CROPS = {
    "whole": (0.0, 0.0, 1.0, 1.0),
    "wide": (0.0, 0.3, 1.0, 0.55),
    "tall": (0.4, 0.0, 0.58, 1.0),
    "small": (0.3, 0.3, 0.52, 0.6),  # below the resize size: upscaled
    "square": (0.1, 0.1, 0.6, 0.6),
}
PRESETS = {
    "torchvision-224": imagenet.PREPROCESSING,
    "paper-227": Preprocessing.for_input_size(227),
    "bicubic": Preprocessing(interpolation="bicubic"),
    "nearest": Preprocessing(interpolation="nearest"),
}
MODES = {
    "bilinear": T.InterpolationMode.BILINEAR,
    "bicubic": T.InterpolationMode.BICUBIC,
    "nearest": T.InterpolationMode.NEAREST,
}


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    from skimage import data

    return {name: Image.fromarray(getattr(data, name)()).convert("RGB") for name in PHOTOS}


def cut(image: Image.Image, crop: str) -> Image.Image:
    left, top, right, bottom = CROPS[crop]
    width, height = image.size
    box = (round(left * width), round(top * height), round(right * width), round(bottom * height))
    return image.crop(box)


def torchvision_eval(pre: Preprocessing) -> T.Compose:
    """torchvision's own transforms, public API, as its ``ImageClassification`` preset runs."""
    return T.Compose([
        T.Resize(pre.resize_size, interpolation=MODES[pre.interpolation], antialias=True),
        T.CenterCrop(pre.crop_size),
        T.PILToTensor(),
        T.ConvertImageDtype(torch.float),
        T.Normalize(pre.mean, pre.std),
    ])  # fmt: skip


def torchvision_tencrop(pre: Preprocessing, image: Image.Image) -> torch.Tensor:
    resized = T.Resize(pre.resize_size, interpolation=MODES[pre.interpolation])(image)
    tail = T.Compose([T.PILToTensor(), T.ConvertImageDtype(torch.float),
                      T.Normalize(pre.mean, pre.std)])  # fmt: skip
    return torch.stack([tail(crop) for crop in T.TenCrop(pre.crop_size)(resized)])


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("crop", CROPS)
def test_the_model_input_equals_torchvisions(photos, crop: str, preset: str) -> None:
    pre = PRESETS[preset]
    for name, photo in photos.items():
        image = cut(photo, crop)
        ours = eval_array(image, pre)
        theirs = torchvision_eval(pre)(image).numpy()
        assert ours.shape == theirs.shape == (3, pre.crop_size, pre.crop_size), name
        assert ours.dtype == np.float32
        assert np.abs(ours - theirs).max() <= TOLERANCE, (name, crop, preset)


@pytest.mark.parametrize("preset", ["torchvision-224", "paper-227"])
@pytest.mark.parametrize("crop", ["whole", "wide", "tall"])
def test_tencrop_equals_torchvisions(photos, crop: str, preset: str) -> None:
    pre = PRESETS[preset]
    for name, photo in photos.items():
        image = cut(photo, crop)
        ours = tencrop_array(image, pre)
        theirs = torchvision_tencrop(pre, image).numpy()
        assert ours.shape == theirs.shape == (10, 3, pre.crop_size, pre.crop_size), name
        assert np.abs(ours - theirs).max() <= TOLERANCE, (name, crop, preset)


def test_the_official_preset_is_the_one_used_for_imagenet(photos) -> None:
    """The ImageNet weights' own ``transforms()`` object, not our reading of it."""
    preset = AlexNet_Weights.IMAGENET1K_V1.transforms()
    for photo in photos.values():
        ours = eval_array(photo, imagenet.PREPROCESSING)
        assert np.abs(ours - preset(photo).numpy()).max() <= TOLERANCE


def test_the_classifiers_transforms_are_these_arrays(photos) -> None:
    pre = PRESETS["paper-227"]
    photo = photos["coffee"]
    np.testing.assert_array_equal(eval_transform(pre)(photo).numpy(), eval_array(photo, pre))
    np.testing.assert_array_equal(tencrop_transform(pre)(photo).numpy(), tencrop_array(photo, pre))
    batch = model_input([photo, photos["rocket"]], pre, tta=True)
    assert batch.shape == (20, 3, 227, 227) and batch.flags.c_contiguous


def test_grey_and_transparent_pictures_become_rgb(photos) -> None:
    pre = imagenet.PREPROCESSING
    photo = photos["astronaut"]
    for mode in ("L", "RGBA", "P"):
        converted = photo.convert(mode)
        expected = torchvision_eval(pre)(converted.convert("RGB")).numpy()
        assert np.abs(eval_array(converted, pre) - expected).max() <= TOLERANCE, mode


def test_softmax_equals_torchs_and_survives_large_logits() -> None:
    logits = np.random.default_rng(0).normal(0, 30, size=(4, 1000)).astype(np.float32)
    logits[0, 3] = 1e4  # exp() would overflow without the shift
    ours = softmax(logits)
    theirs = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, atol=1e-7)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-6)
