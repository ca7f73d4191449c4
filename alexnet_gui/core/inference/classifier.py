"""The Classifier: one model on one device, answering top-k questions about images.

It derives its transforms from the weights' spec, runs in eval and inference mode, and can average
the ten crops of TenCrop. What the network sees on the way (activations, Grad-CAM) is
:func:`alexnet_gui.core.visualize.inside.look_inside`'s job, on this classifier's PyTorch model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from alexnet_gui.core.engines.select import SelectedEngine, select_engine
from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.imaging.fast import frame_tensor
from alexnet_gui.core.imaging.preprocess import eval_transform, tencrop_transform
from alexnet_gui.core.inference.devices import DEVICES
from alexnet_gui.core.models.architectures import NamedLayer, named_layers
from alexnet_gui.core.models.spec import WeightsSpec
from alexnet_gui.core.models.weights import LoadedModel
from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction


def cuda_available() -> bool:
    return torch.cuda.is_available()


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when a GPU is present, else the CPU; ``cuda`` without one is an error."""
    if name == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not cuda_available():
            raise UserFacingError("CUDA was requested but no CUDA GPU is available; use cpu.")
        return torch.device("cuda")
    raise UserFacingError(f"Unknown device {name!r}; choose one of {', '.join(DEVICES)}.")


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


class Classifier:
    """A model in eval mode on a device, with the spec's preprocessing.

    ``engine`` runs classify/classify_batch (see :mod:`alexnet_gui.core.engines`); ``model``
    stays the PyTorch model, which look_inside() always uses. ``images`` join the calibration
    images of a converted engine.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        device: str = "auto",
        engine: str = "pytorch",
        images: Sequence[str | Path] = (),
    ) -> None:
        self.model: nn.Module = loaded.model.eval()
        self.spec: WeightsSpec = loaded.spec
        self._transform = eval_transform(self.spec.preprocessing)
        self._tencrop = tencrop_transform(self.spec.preprocessing)
        self.layers: list[NamedLayer] = named_layers(self.model)
        self.device = resolve_device(device)
        self.model.to(self.device)
        self.engine: SelectedEngine = self.set_engine(engine, images=images)

    def set_engine(self, name: str, *, images: Sequence[str | Path] = ()) -> SelectedEngine:
        """Build or load another engine; PyTorch, with a message, if it cannot be used."""
        paths = [Path(p) for p in images]
        self.engine = select_engine(name, self.model, self.spec, images=paths)
        return self.engine

    def _device_text(self) -> str:
        engine = "" if self.engine.name == "pytorch" else f" ({self.engine.name})"
        return device_label(self.device) + engine

    @property
    def info(self) -> ModelInfo:
        return ModelInfo.of(self.spec, self._device_text())

    def set_device(self, name: str) -> torch.device:
        """Move the model; the old device's memory is released."""
        device = resolve_device(name)
        if device != self.device:
            self.model.to(device)
            self.device = device
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        return device

    def preprocess(self, image: Image.Image | np.ndarray, *, tta: bool = False) -> torch.Tensor:
        """(1, 3, S, S), or (10, 3, S, S) with TenCrop; an RGB array takes the frame fast path."""
        if isinstance(image, np.ndarray):
            if not tta:
                return frame_tensor(image, self.spec.preprocessing).unsqueeze(0)
            image = Image.fromarray(image)
        if tta:
            return self._tencrop(image)
        return self._transform(image).unsqueeze(0)

    def classify(
        self, image: Image.Image | np.ndarray, *, topk: int = 5, tta: bool = False
    ) -> Prediction:
        return self.classify_batch([image], topk=topk, tta=tta)[0]

    def classify_batch(
        self, images: Sequence[Image.Image | np.ndarray], *, topk: int = 5, tta: bool = False
    ) -> list[Prediction]:
        """Many images in one forward pass (TenCrop: ten per image); time is shared equally."""
        if not images:
            return []
        start = time.perf_counter()
        batch = torch.cat([self.preprocess(image, tta=tta) for image in images])
        return self.classify_prepared(batch, topk=topk, tta=tta, started=start)

    def classify_prepared(
        self, batch: torch.Tensor, *, topk: int = 5, tta: bool = False, started: float | None = None
    ) -> list[Prediction]:
        """Model inputs made elsewhere (the fast paths), through the engine; 10 rows per TenCrop."""
        start = time.perf_counter() if started is None else started
        crops = 10 if tta else 1
        count = len(batch) // crops
        with torch.inference_mode():
            logits = self.engine.run(batch).float()
            probabilities = torch.softmax(logits, dim=1).view(count, crops, -1).mean(dim=1)
            probabilities = probabilities.cpu()
        elapsed = (time.perf_counter() - start) * 1000.0 / count
        device = self._device_text()
        return [
            Prediction(self.top_scores(row, topk), elapsed, device, self.spec.name, tta)
            for row in probabilities
        ]

    def top_scores(self, probabilities: torch.Tensor, topk: int) -> tuple[ClassScore, ...]:
        """The ``topk`` most probable classes of a 1-D probability vector, ranked from 1."""
        k = max(1, min(int(topk), probabilities.numel()))
        values, indices = torch.topk(probabilities.cpu(), k)
        return tuple(
            ClassScore(rank, int(i), self.spec.categories[int(i)], float(p))
            for rank, (p, i) in enumerate(zip(values.tolist(), indices.tolist(), strict=True), 1)
        )

