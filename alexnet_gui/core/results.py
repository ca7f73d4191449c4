"""Small frozen dataclasses that cross threads and module boundaries.

Nothing here imports torch or Qt, so the UI can use these types without paying for either.
Arrays are numpy ``uint8``/``float32`` and are never mutated after construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from alexnet_gui.core.models.spec import WeightsSpec


@dataclass(frozen=True)
class ClassScore:
    """One line of a top-k answer."""

    rank: int
    index: int
    label: str
    probability: float

    def as_dict(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "index": self.index,
            "label": self.label,
            "probability": self.probability,
        }


@dataclass(frozen=True)
class Prediction:
    """The top-k classes of one image, and how they were computed."""

    scores: tuple[ClassScore, ...]
    elapsed_ms: float
    device: str
    model_name: str
    tta: bool = False

    @property
    def top1(self) -> ClassScore:
        return self.scores[0]


@dataclass(frozen=True)
class ModelInfo:
    """What the loaded model is, for display and export."""

    name: str
    arch: str
    num_classes: int
    source: str
    input_size: int
    device: str
    categories: tuple[str, ...] = field(repr=False, default=())

    @classmethod
    def of(cls, spec: WeightsSpec, device: str) -> ModelInfo:
        """What ``spec`` describes, running on ``device`` (as the status bar words it)."""
        return cls(name=spec.name, arch=spec.arch, num_classes=spec.num_classes,
                   source=spec.source, input_size=spec.preprocessing.crop_size, device=device,
                   categories=spec.categories)


@dataclass(frozen=True, eq=False)
class LayerActivation:
    """One layer's output for one image: ``values`` has shape (C, H, W) or (N,)."""

    name: str
    kind: str
    values: np.ndarray
