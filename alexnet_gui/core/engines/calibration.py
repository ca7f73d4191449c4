"""Real images to calibrate int8 engines on and to check them against fp32, and the quantiser.

Static int8 needs the range of every layer's input, which only real data shows: noise gives
ranges nothing like a photo's. The images come from three places, all real:

* for a checkpoint made by ``alexnet-gui train``, images of its training folder (when it is still
  there), spread evenly over its classes: a fine-tuned model is calibrated on its own kind of data;
* images the caller passes (the CLI passes the files it was asked to classify);
* the photos bundled under ``resources/calibration/`` (CC0 / public-domain scikit-image pictures),
  each seen as several crops and flips: what the ImageNet weights get, and what any model gets
  when the first two give fewer than :data:`ENOUGH_OWN` images. A model trained on garments
  is not calibrated or judged on cats when its own images are there: photos far from its data
  widen its ranges and give near-ties whose top-1 means nothing.

Each source is split in two: one half sets the ranges, the other half is where the engine's top-1
is compared with fp32's, so the quality check is not made on the very images it was fitted to.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch import nn
from torch.nn import functional as F

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.imaging.decode import find_images, load_image
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.models.spec import WeightsSpec
from alexnet_gui.paths import resource_path

PHOTO_VIEWS = 6  # views per bundled photo, for each half
USER_LIMIT = 256  # images from a training folder, both halves together
EXTRA_LIMIT = 64  # images passed by the caller, both halves together
ENOUGH_OWN = 64  # the model's own images above which the bundled photos are left out


@dataclass(frozen=True, eq=False)
class CalibrationSet:
    """Model inputs: ``calibrate`` sets the ranges, ``validate`` checks agreement with fp32."""

    calibrate: torch.Tensor
    validate: torch.Tensor
    description: str


def bundled_photos() -> list[Path]:
    return sorted(resource_path("calibration").glob("*.jpg"))


def training_images(spec: WeightsSpec, limit: int = USER_LIMIT) -> list[Path]:
    """Up to ``limit`` images of the folder a checkpoint was trained on, round-robin per class."""
    training = spec.metadata.get("training", {}) if spec.metadata else {}
    data_dir = training.get("data_dir") if isinstance(training, dict) else None
    if not data_dir or not Path(data_dir).is_dir():
        return []
    root = Path(data_dir) / "train" if (Path(data_dir) / "train").is_dir() else Path(data_dir)
    classes = [folder for folder in sorted(root.iterdir()) if folder.is_dir()] or [root]
    per_class = [find_images([folder])[:limit] for folder in classes]
    picked: list[Path] = []
    for row in range(max((len(images) for images in per_class), default=0)):
        picked.extend(images[row] for images in per_class if row < len(images))
        if len(picked) >= limit:
            break
    return picked[:limit]


def random_view(image: Image.Image, rng: random.Random, *, min_area: float = 0.35) -> Image.Image:
    """A random crop (``min_area``-100% of the area, aspect 3:4 to 4:3), mirrored half the time."""
    width, height = image.size
    area = width * height * rng.uniform(min_area, 1.0)
    aspect = rng.uniform(3 / 4, 4 / 3)
    w = max(8, min(width, round((area * aspect) ** 0.5)))
    h = max(8, min(height, round((area / aspect) ** 0.5)))
    left, top = rng.randint(0, width - w), rng.randint(0, height - h)
    view = image.crop((left, top, left + w, top + h))
    return ImageOps.mirror(view) if rng.random() < 0.5 else view


def _load_all(paths: Iterable[Path]) -> list[Image.Image]:
    images = []
    for path in paths:
        try:
            images.append(load_image(path))
        except UserFacingError:
            continue  # a broken file is no reason to give up calibrating
    return images


def build_calibration_set(
    spec: WeightsSpec, extra: Sequence[Path] = (), *, seed: int = 0
) -> CalibrationSet:
    """The checkpoint's training images and ``extra``, else or also bundled photos; halved."""
    transform = eval_transform(spec.preprocessing)
    rng = random.Random(seed)
    calibrate: list[torch.Tensor] = []
    validate: list[torch.Tensor] = []
    own = _load_all(training_images(spec))
    given = _load_all(list(extra)[:EXTRA_LIMIT])
    for images in (own, given):
        calibrate.extend(transform(image) for image in images[0::2])
        validate.extend(transform(image) for image in images[1::2])
    photos = _load_all(bundled_photos()) if len(own) + len(given) < ENOUGH_OWN else []
    for photo in photos:
        calibrate.append(transform(photo))
        validate.extend(transform(random_view(photo, rng)) for _ in range(PHOTO_VIEWS))
        calibrate.extend(transform(random_view(photo, rng)) for _ in range(PHOTO_VIEWS - 1))
    if not calibrate or not validate:
        raise UserFacingError("No calibration images were found (resources/calibration/).")
    description = (
        f"{len(photos)} bundled photos x {PHOTO_VIEWS} views, {len(own)} training images, "
        f"{len(given)} of your images"
    )
    return CalibrationSet(torch.stack(calibrate), torch.stack(validate), description)


# -- ranges and fake quantisation ------------------------------------------------------------


def collect_ranges(
    model: nn.Module, inputs: torch.Tensor, *, chunk: int = 32
) -> dict[str, tuple[float, float]]:
    """The smallest and largest input value of every conv and linear layer, over ``inputs``."""
    ranges: dict[str, tuple[float, float]] = {}

    def hook(name: str):
        def record(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            low, high = float(args[0].min()), float(args[0].max())
            old = ranges.get(name, (low, high))
            ranges[name] = (min(old[0], low), max(old[1], high))

        return record

    handles = [
        module.register_forward_pre_hook(hook(name))
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d | nn.Linear)
    ]
    try:
        with torch.inference_mode():
            for start in range(0, len(inputs), chunk):
                model(inputs[start : start + chunk])
    finally:
        for handle in handles:
            handle.remove()
    return ranges


class FakeQuantized(nn.Module):
    """A conv or linear layer whose input and weights pass through int8 fake quantisation.

    Inputs: per tensor, unsigned [0, max] after a ReLU, else symmetric. Weights: per output
    channel, symmetric, 255 levels. OpenVINO reads the two ``fake_quantize`` ops as
    FakeQuantize nodes and runs the layer in int8, which is the format NNCF produces too.
    """

    weight_scale: torch.Tensor  # buffers, registered in __init__
    weight_zero: torch.Tensor
    #: The weights' integer range. The scale maps the largest weight to 127, so (-128, 127)
    #: gives the same numbers; the ONNX export sets it, as ONNX allows no (-127, 127).
    weight_range: tuple[int, int] = (-127, 127)

    def __init__(self, layer: nn.Conv2d | nn.Linear, low: float, high: float) -> None:
        super().__init__()
        self.layer = layer
        if low >= 0.0:
            self.scale, self.qmin, self.qmax = max(high, 1e-8) / 255.0, 0, 255
        else:
            self.scale, self.qmin, self.qmax = max(-low, high, 1e-8) / 127.0, -128, 127
        weight = layer.weight.detach()
        scales = weight.abs().flatten(1).amax(dim=1).clamp_min(1e-12) / 127.0
        self.register_buffer("weight_scale", scales.float())
        self.register_buffer("weight_zero", torch.zeros(len(scales), dtype=torch.int32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.fake_quantize_per_tensor_affine(x, self.scale, 0, self.qmin, self.qmax)
        weight = torch.fake_quantize_per_channel_affine(
            self.layer.weight, self.weight_scale, self.weight_zero, 0, *self.weight_range
        )
        layer = self.layer
        if isinstance(layer, nn.Conv2d):
            return F.conv2d(
                x, weight, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups
            )
        return F.linear(x, weight, layer.bias)


def fake_quantized(model: nn.Module, ranges: dict[str, tuple[float, float]]) -> nn.Module:
    """A copy of ``model`` with every calibrated conv and linear layer wrapped for int8."""
    quantized = copy.deepcopy(model).eval()
    for parent_name, parent in list(quantized.named_modules()):
        for child_name, child in list(parent.named_children()):
            name = f"{parent_name}.{child_name}" if parent_name else child_name
            if name in ranges and isinstance(child, nn.Conv2d | nn.Linear):
                setattr(parent, child_name, FakeQuantized(child, *ranges[name]))
    return quantized


def agreement(reference: torch.Tensor, logits: torch.Tensor) -> float:
    """The share of rows whose top-1 class is the same in both."""
    same = reference.argmax(dim=1) == logits.argmax(dim=1)
    return float(same.float().mean())
