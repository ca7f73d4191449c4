"""torchvision's ``AlexNet_Weights.IMAGENET1K_V1`` as data: where it comes from, how it is checked,
how images are prepared for it, what its classes are called.

Why data and not torchvision's enum: ``import torchvision`` costs 3-4 s and pulls in
``torch._dynamo``, while finding the weights, naming their classes and keying the engine cache
need none of it. The class names ship as ``resources/imagenet/classes.txt`` (written once from
torchvision's ``meta["categories"]``); tests/core/models/test_imagenet_data.py checks every fact
here against torchvision's enum, so the two cannot drift apart unnoticed.

Imports neither torch nor torchvision.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alexnet_gui.core.models.spec import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, WeightsSpec
from alexnet_gui.paths import models_dir, resource_path, torch_hub_checkpoints_dir

URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
#: The name torch.hub saves the file under; the part after the last ``-`` is its hash's start.
FILE_NAME = URL.rsplit("/", 1)[-1]
SHA256_PREFIX = "7be5be79"
NAME = "ImageNet (torchvision)"
#: torchvision's eval preset for these weights: ``ImageClassification(crop_size=224, ...)``.
PREPROCESSING = Preprocessing(
    resize_size=256, crop_size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD, interpolation="bilinear"
)
#: torchvision's ``meta["_metrics"]["ImageNet-1K"]``.
ACCURACY: dict[str, float] = {"acc@1": 56.522, "acc@5": 79.066}
NUM_PARAMS = 61_100_840
#: ``meta["_file_size"]``, in MB.
FILE_SIZE_MB = 233.087
CLASSES_RESOURCE: tuple[str, ...] = ("imagenet", "classes.txt")


@functools.cache
def categories() -> tuple[str, ...]:
    """The 1000 class names, in the order of the network's outputs."""
    text = resource_path(*CLASSES_RESOURCE).read_text(encoding="utf-8")
    names = tuple(line for line in text.splitlines() if line)
    if len(names) != 1000:
        raise RuntimeError(f"{resource_path(*CLASSES_RESOURCE)} holds {len(names)} names, not 1000")
    return names


def imagenet_spec() -> WeightsSpec:
    """The spec of the official ImageNet weights (``source`` is the URL until a file is found)."""
    return WeightsSpec(
        name=NAME,
        arch="torchvision",
        categories=categories(),
        preprocessing=PREPROCESSING,
        source=URL,
        url=URL,
        metadata={"acc@1": ACCURACY["acc@1"]},
    )


def imagenet_file_name() -> str:
    """``alexnet-owt-7be5be79.pth``: the name torch.hub saves the official file under."""
    return FILE_NAME


def imagenet_search_paths() -> list[Path]:
    """Where the ImageNet weights are looked for, in order."""
    return [torch_hub_checkpoints_dir() / FILE_NAME, models_dir() / FILE_NAME]


def find_imagenet_weights() -> Path | None:
    return next((p for p in imagenet_search_paths() if p.is_file()), None)


def missing_imagenet_message() -> str:
    where = " or ".join(str(p.parent) for p in imagenet_search_paths())
    return (
        f"ImageNet weights not found. Run `alexnet-gui download`, or put the official file "
        f"{FILE_NAME} into {where}."
    )


def state_dict_spec(path: Path, num_classes: int) -> WeightsSpec:
    """The spec of a plain torchvision state_dict file: ImageNet's classes if it has 1000 outputs,
    ``class 0``... otherwise, and torchvision's 256/224 preprocessing."""
    imagenet = categories()
    numbered = tuple(f"class {i}" for i in range(num_classes))
    names = imagenet if num_classes == len(imagenet) else numbered
    return WeightsSpec(
        name=path.name,
        arch="torchvision",
        categories=names,
        preprocessing=Preprocessing(crop_size=224),
        source=str(path),
    )


#: What ``categories`` holds in a :func:`spec_record` for ImageNet's own 1000 names.
IMAGENET_CATEGORIES = "imagenet"


def spec_record(spec: WeightsSpec) -> dict[str, Any]:
    """A spec as JSON-ready data (the engine cache's manifest keeps one); ImageNet's class names
    become the pointer :data:`IMAGENET_CATEGORIES` instead of 1000 strings."""
    names: str | list[str] = (
        IMAGENET_CATEGORIES if spec.categories == categories() else list(spec.categories)
    )
    return {
        "name": spec.name,
        "arch": spec.arch,
        "categories": names,
        "preprocessing": spec.preprocessing.as_dict(),
        "url": spec.url,
    }


def spec_from_record(record: Mapping[str, Any], source: str) -> WeightsSpec:
    """:func:`spec_record` read back (raises KeyError, TypeError or ValueError if malformed)."""
    names = record["categories"]
    if names == IMAGENET_CATEGORIES:
        labels = categories()
    elif isinstance(names, list) and names and all(isinstance(n, str) for n in names):
        labels = tuple(names)
    else:
        raise ValueError("class names are neither a list of strings nor the ImageNet pointer")
    url = record.get("url")
    return WeightsSpec(
        name=str(record["name"]),
        arch=str(record["arch"]),
        categories=labels,
        preprocessing=Preprocessing.from_dict(record["preprocessing"]),
        source=source,
        url=str(url) if url else None,
    )
