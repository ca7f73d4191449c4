"""The two AlexNets the app knows, built by name, and friendly names for their layers.

``torchvision`` is torchvision's single-GPU variant (64 conv1 kernels, 224 crop), written out here
module for module (the same names, ``features.0`` ... ``classifier.6``), so that official
state_dicts load into it unchanged, without importing torchvision (3-4 s of start-up).
``paper`` is the 2012 network as Krizhevsky et al. describe it: 227x227 input, 96 conv1 kernels,
local response normalisation after conv1 and conv2, and conv2/conv4/conv5 split into two groups,
the trace of the original two-GPU layout.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import cache, partial
from typing import cast

import torch
from torch import nn

from alexnet_gui.core.errors import UserFacingError

ARCHITECTURES: tuple[str, ...] = ("torchvision", "paper")
INPUT_SIZES: dict[str, int] = {"torchvision": 224, "paper": 227}
#: The largest square input any part of the app accepts (training, checkpoints, benchmarks).
LARGEST_INPUT_SIZE = 1024


class TorchvisionAlexNet(nn.Module):
    """torchvision's ``AlexNet``, layer for layer: its state_dicts load here unchanged.

    tests/core/models/test_architectures.py checks the keys and the logits against
    ``torchvision.models.alexnet`` on the same weights.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class PaperAlexNet(nn.Module):
    """AlexNet as in the 2012 paper, with named layers (conv1, lrn1, pool1, ..., fc8)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        lrn = partial(nn.LocalResponseNorm, size=5, alpha=1e-4, beta=0.75, k=2.0)
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(3, 96, kernel_size=11, stride=4)),
                    ("relu1", nn.ReLU(inplace=True)),
                    ("lrn1", lrn()),
                    ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
                    ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2)),
                    ("relu2", nn.ReLU(inplace=True)),
                    ("lrn2", lrn()),
                    ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
                    ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)),
                    ("relu3", nn.ReLU(inplace=True)),
                    ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2)),
                    ("relu4", nn.ReLU(inplace=True)),
                    ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2)),
                    ("relu5", nn.ReLU(inplace=True)),
                    ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                ]
            )
        )
        # Identity at 227x227; lets smaller training inputs (e.g. Fashion-MNIST) reach fc6.
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("drop6", nn.Dropout(p=dropout)),
                    ("fc6", nn.Linear(256 * 6 * 6, 4096)),
                    ("relu6", nn.ReLU(inplace=True)),
                    ("drop7", nn.Dropout(p=dropout)),
                    ("fc7", nn.Linear(4096, 4096)),
                    ("relu7", nn.ReLU(inplace=True)),
                    ("fc8", nn.Linear(4096, num_classes)),
                ]
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def build_model(arch: str, num_classes: int = 1000, *, dropout: float = 0.5) -> nn.Module:
    """A randomly initialised model of the named architecture."""
    if arch == "torchvision":
        return TorchvisionAlexNet(num_classes=num_classes, dropout=dropout)
    if arch == "paper":
        return PaperAlexNet(num_classes=num_classes, dropout=dropout)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def last_linear(model: nn.Module) -> nn.Linear:
    """fc8: the layer fine-tuning replaces."""
    linears = [m for m in _classifier(model) if isinstance(m, nn.Linear)]
    return linears[-1]


def first_conv(model: nn.Module) -> nn.Conv2d:
    """conv1, whose kernels the app shows."""
    return next(m for m in _features(model) if isinstance(m, nn.Conv2d))


def _features(model: nn.Module) -> nn.Sequential:
    """``model.features``: a Sequential in both architectures (nn.Module types it loosely)."""
    return cast(nn.Sequential, model.features)


def _classifier(model: nn.Module) -> nn.Sequential:
    """``model.classifier``: a Sequential in both architectures."""
    return cast(nn.Sequential, model.classifier)


def num_classes_of(model: nn.Module) -> int:
    return last_linear(model).out_features


_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.Conv2d, "conv"),
    (nn.ReLU, "relu"),
    (nn.LocalResponseNorm, "lrn"),
    (nn.MaxPool2d, "pool"),
    (nn.AdaptiveAvgPool2d, "avgpool"),
    (nn.Dropout, "dropout"),
    (nn.Linear, "linear"),
)


@dataclass(frozen=True)
class NamedLayer:
    """A layer under the name a reader of the paper would use (conv1, relu1, pool1, fc6...)."""

    name: str
    kind: str
    module: nn.Module


def _kind_of(module: nn.Module) -> str:
    for cls, kind in _KINDS:
        if isinstance(module, cls):
            return kind
    return type(module).__name__.lower()


def named_layers(model: nn.Module) -> list[NamedLayer]:
    """Every layer of features, avgpool and classifier, in forward order, with paper-style names.

    torchvision numbers its layers ``features.0``...; the same rules give both models the same
    names: a conv or linear opens a new stage and the layers after it share its number.
    """
    layers: list[NamedLayer] = []
    stage = 0
    for module in _features(model):
        kind = _kind_of(module)
        if kind == "conv":
            stage += 1
        layers.append(NamedLayer(_stage_name(kind, stage), kind, module))
    layers.append(NamedLayer("avgpool", "avgpool", cast(nn.Module, model.avgpool)))
    fc = 5
    for module in _classifier(model):
        kind = _kind_of(module)
        if kind in ("linear", "dropout"):
            # dropout belongs to the fc layer it feeds, as in the paper's drop6/fc6.
            number = fc + 1
            if kind == "linear":
                fc += 1
            prefix = "fc" if kind == "linear" else "drop"
            layers.append(NamedLayer(f"{prefix}{number}", kind, module))
        else:
            layers.append(NamedLayer(_stage_name(kind, fc), kind, module))
    return layers


def _stage_name(kind: str, stage: int) -> str:
    return f"{kind}{stage}"


@cache
def min_input_size(arch: str) -> int:
    """The smallest square input the conv stack accepts (63 px torchvision, 67 px paper).

    Found by running the features on the meta device, so the answer follows the layers
    themselves rather than a formula that could drift from them.
    """
    with torch.device("meta"):  # no weights are made: 2 ms instead of half a second
        features = _features(build_model(arch, num_classes=2))
    for size in range(8, LARGEST_INPUT_SIZE):
        try:
            features(torch.empty(1, 3, size, size, device="meta"))
        except RuntimeError:
            continue
        return size
    raise ValueError(f"no input size up to {LARGEST_INPUT_SIZE} fits the {arch} AlexNet")


def check_input_size(arch: str, size: int) -> None:
    """Raise one readable line when ``size`` is outside what the network can take."""
    smallest = min_input_size(arch)
    if size < smallest:
        raise UserFacingError(
            f"Input size {size} is too small for the {arch} AlexNet: its convolution and pooling "
            f"layers need at least {smallest} px."
        )
    if size > LARGEST_INPUT_SIZE:
        raise UserFacingError(f"Input size {size} is larger than {LARGEST_INPUT_SIZE} px.")
