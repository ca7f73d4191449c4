"""What a set of weights is, as data: the spec that travels with every state_dict.

Following torchvision's ``Weights`` enum and timm's ``PretrainedCfg``, a :class:`WeightsSpec`
carries everything that must travel with the numbers: the architecture, the class names and the
preprocessing. Nothing here imports torch, so settings, messages and the UI can read these facts
for free; :mod:`.weights` builds models from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from os import PathLike
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """Resize the short side, center-crop a square, scale to [0, 1], normalise."""

    resize_size: int = 256
    crop_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"

    def as_dict(self) -> dict[str, Any]:
        return {
            "resize_size": self.resize_size,
            "crop_size": self.crop_size,
            "mean": list(self.mean),
            "std": list(self.std),
            "interpolation": self.interpolation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        return cls(
            resize_size=int(data["resize_size"]),
            crop_size=int(data["crop_size"]),
            mean=tuple(float(v) for v in data["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in data["std"]),  # type: ignore[arg-type]
            interpolation=str(data.get("interpolation", "bilinear")),
        )

    @classmethod
    def for_input_size(cls, crop_size: int) -> Preprocessing:
        """ImageNet statistics with torchvision's 256/224 resize-to-crop ratio."""
        return cls(resize_size=round(crop_size * 256 / 224), crop_size=crop_size)


@dataclass(frozen=True)
class WeightsSpec:
    """Everything that must travel with a state_dict."""

    name: str
    arch: str
    categories: tuple[str, ...]
    preprocessing: Preprocessing
    source: str
    url: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.categories)


#: The key of :func:`weights_file_facts` in a spec's metadata.
WEIGHTS_FILE = "weights_file"


def with_weights_file(
    spec: WeightsSpec, path: str | PathLike[str], stamp: list[int], kind: str
) -> WeightsSpec:
    """``spec`` remembering the file it was loaded from (:func:`weights_file_facts`).

    The engine cache keys this model's engines by that file's hash, so a spec made for another
    model (fine-tuned, taught) must not carry it: build it anew or ``replace(..., metadata={})``.
    """
    facts = {"path": str(path), "stamp": list(stamp), "kind": kind}
    return replace(spec, metadata={**spec.metadata, WEIGHTS_FILE: facts})


def weights_file_facts(spec: WeightsSpec) -> Mapping[str, Any] | None:
    """``{"path", "stamp", "kind"}`` of the file ``spec`` was loaded from, or None (a model made
    in memory, e.g. by training). ``stamp`` is :func:`.filehash.file_stamp` taken before the file
    was read; ``kind`` is ``imagenet``, ``state_dict`` or ``checkpoint``."""
    facts = spec.metadata.get(WEIGHTS_FILE)
    return facts if isinstance(facts, Mapping) else None
