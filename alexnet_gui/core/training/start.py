"""The model a training run starts from: ImageNet weights, random weights or a file.

The default follows the classic fine-tuning recipe (cats vs dogs and friends): when the ImageNet
weights are on this machine, start from them, freeze the convolutional features and give fc8 one
output per class of the data set. Without them the network is trained from scratch, and the
description says so, because the two differ by hours of training and tens of points of accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from torch import nn

from alexnet_gui.core.errors import UserFacingError, WeightsError
from alexnet_gui.core.models.architectures import (
    ARCHITECTURES,
    INPUT_SIZES,
    build_model,
    check_input_size,
    last_linear,
)
from alexnet_gui.core.models.spec import Preprocessing
from alexnet_gui.core.models.weights import LoadedModel, find_imagenet_weights, load_weights

INIT_IMAGENET = "imagenet"
INIT_SCRATCH = "scratch"


@dataclass
class StartingPoint:
    """A model ready to train, with where it came from in words and its preprocessing."""

    model: nn.Module
    arch: str
    preprocessing: Preprocessing
    pretrained: bool
    description: str


def replace_fc8(model: nn.Module, num_classes: int) -> nn.Linear:
    """A new, randomly initialised last layer with ``num_classes`` outputs."""
    old = last_linear(model)
    new = nn.Linear(old.in_features, num_classes)
    classifier = cast(nn.Sequential, model.classifier)  # both architectures use a Sequential
    for index, module in enumerate(classifier):
        if module is old:
            classifier[index] = new
    return new


def freeze_features(model: nn.Module) -> None:
    """Stop gradients at the conv stack; only fc6 to fc8 learn."""
    for parameter in cast(nn.Module, model.features).parameters():
        parameter.requires_grad_(False)


def starting_point(
    classes: tuple[str, ...],
    *,
    arch: str | None,
    init: str | None,
    input_size: int | None,
) -> StartingPoint:
    """Build the model to train for ``classes``.

    Args:
        classes: the data set's class names; fc8 gets one output each.
        arch: ``torchvision`` or ``paper``; ``None`` is torchvision, or the file's architecture.
        init: ``imagenet``, ``scratch``, a weights file, or ``None`` for the recipe (ImageNet
            weights when present, else scratch).
        input_size: the crop size; ``None`` is the architecture's (or the file's) own.
    """
    if arch is not None and arch not in ARCHITECTURES:
        raise UserFacingError(f"Unknown architecture {arch!r}; choose {', '.join(ARCHITECTURES)}.")
    if init is None:
        wanted = arch or "torchvision"
        if wanted != "torchvision":
            why = "ImageNet weights exist only for the torchvision architecture"
            start = _scratch(wanted, classes, f"from scratch ({why})")
        elif find_imagenet_weights() is not None:
            start = _pretrained(load_weights(None), classes, "ImageNet weights", wanted)
        else:
            why = "no ImageNet weights found; `alexnet-gui download` gets them for fine-tuning"
            start = _scratch(wanted, classes, f"from scratch ({why})")
    elif init == INIT_SCRATCH:
        start = _scratch(arch or "torchvision", classes, "from scratch")
    elif init == INIT_IMAGENET:
        if arch not in (None, "torchvision"):
            raise UserFacingError("The ImageNet weights are for the torchvision architecture.")
        start = _pretrained(load_weights(None), classes, "ImageNet weights", "torchvision")
    else:
        path = Path(init)
        start = _pretrained(load_weights(path), classes, f"weights from {path.name}", arch)
    size = input_size or start.preprocessing.crop_size
    check_input_size(start.arch, size)
    if size != start.preprocessing.crop_size:
        resized = Preprocessing.for_input_size(size)
        start.preprocessing = Preprocessing(
            resize_size=resized.resize_size,
            crop_size=size,
            mean=start.preprocessing.mean,
            std=start.preprocessing.std,
            interpolation=start.preprocessing.interpolation,
        )
    return start


def init_for_training(model: nn.Module) -> nn.Module:
    """He initialisation for the convolutions, N(0, 0.01) for the linear layers, zero biases.

    PyTorch's default initialisation shrinks the signal at every layer; through AlexNet's eight
    layers the logits start near zero and plain SGD sits on a plateau for epochs. This is the
    scheme torchvision gives VGG, which trains AlexNet-like stacks without normalisation layers
    from the first step (He et al. 2015 for the convolutions).
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            assert module.bias is not None  # every AlexNet convolution has one
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.01)
            nn.init.zeros_(module.bias)
    return model


def _scratch(arch: str, classes: tuple[str, ...], description: str) -> StartingPoint:
    model = init_for_training(build_model(arch, num_classes=len(classes)))
    pre = Preprocessing.for_input_size(INPUT_SIZES[arch])
    return StartingPoint(model, arch, pre, False, description)


def _pretrained(
    loaded: LoadedModel, classes: tuple[str, ...], what: str, arch: str | None
) -> StartingPoint:
    spec = loaded.spec
    if arch is not None and spec.arch != arch:
        raise WeightsError(f"{what} are for the {spec.arch} architecture, not {arch}.")
    model = loaded.model.train()
    if tuple(spec.categories) != tuple(classes):
        replace_fc8(model, len(classes))
        description = f"{what}, with a new fc8 for {len(classes)} classes"
    else:
        description = f"{what} (same classes, fc8 kept)"
    return StartingPoint(model, spec.arch, spec.preprocessing, True, description)
