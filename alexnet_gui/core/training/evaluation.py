"""How well a model does on a labelled folder: accuracy, per-class accuracy, confusion matrix.

Folders are matched to the model's classes by name, so a checkpoint evaluates on any folder
whose class names it knows, in any order. The confusion matrix is kept over the classes that
occur, as a true label or as a prediction; for a 1000-class model that is a handful, not a
million cells. Training uses :func:`predict` for its validation accuracy, so both agree.
Under ``torchrun`` each process evaluates every N-th image and the predictions are merged back
in input order (:mod:`alexnet_gui.core.training.distributed`), so the report is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from alexnet_gui.core.errors import DatasetError
from alexnet_gui.core.imaging.preprocess import eval_transform, tencrop_transform
from alexnet_gui.core.inference.classifier import device_label, resolve_device
from alexnet_gui.core.models.spec import Preprocessing
from alexnet_gui.core.models.weights import load_weights
from alexnet_gui.core.training.datasets import (
    ImageSamples,
    Sample,
    collate_skipping,
    evaluation_root,
    match_classes,
)
from alexnet_gui.core.training.distributed import gather_all, interleave, joined, share


@dataclass(frozen=True)
class Predictions:
    """Predicted and true class indices of the images that decoded; the rest are ``broken``."""

    predicted: torch.Tensor
    labels: torch.Tensor
    broken: tuple[int, ...]
    cancelled: bool = False

    @property
    def accuracy(self) -> float | None:
        if len(self.labels) == 0:
            return None
        return float((self.predicted == self.labels).float().mean())


@dataclass(frozen=True)
class EvaluationReport:
    """The numbers of one evaluation; ``confusion[i][j]`` counts true ``labels[i]`` as ``[j]``."""

    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    skipped_images: int
    tta: bool
    device: str
    folder: str

    @property
    def total(self) -> int:
        return sum(sum(row) for row in self.confusion)

    @property
    def correct(self) -> int:
        return sum(self.confusion[i][i] for i in range(len(self.labels)))

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def per_class(self) -> dict[str, tuple[int, int]]:
        """(correct, total) for each class with at least one image."""
        return {
            label: (row[i], sum(row))
            for i, (label, row) in enumerate(zip(self.labels, self.confusion, strict=True))
            if sum(row)
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "images": self.total,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "per_class_accuracy": {
                label: correct / total for label, (correct, total) in self.per_class.items()
            },
            "per_class_images": {label: total for label, (_, total) in self.per_class.items()},
            "labels": list(self.labels),
            "confusion": [list(row) for row in self.confusion],
            "skipped_images": self.skipped_images,
            "tta": self.tta,
            "device": self.device,
        }


def eval_loader(
    samples: Sequence[Sample],
    pre: Preprocessing,
    *,
    tta: bool,
    batch_size: int,
    workers: int = 0,
    device: torch.device | None = None,
) -> DataLoader:
    """Center crops (or the ten crops of TenCrop) in a fixed order."""
    transform = tencrop_transform(pre) if tta else eval_transform(pre)
    return DataLoader(
        ImageSamples(samples, transform),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate_skipping,
        pin_memory=device is not None and device.type == "cuda",
    )


def predict(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    *,
    on_batch: Callable[[int, int], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> Predictions:
    """Top-1 class of every image; TenCrop batches (B, 10, 3, H, W) average their softmax."""
    was_training = model.training
    model.eval()
    predicted: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    broken: list[int] = []
    cancelled = False
    try:
        with torch.inference_mode():
            for index, (images, batch_labels, batch_broken) in enumerate(loader, start=1):
                if is_cancelled is not None and is_cancelled():
                    cancelled = True
                    break
                broken.extend(batch_broken)
                if images is not None:
                    predicted.append(_top1(model, images.to(device, non_blocking=True)).cpu())
                    labels.append(batch_labels)
                if on_batch is not None:
                    on_batch(index, len(loader))
    finally:
        model.train(was_training)
    empty = torch.empty(0, dtype=torch.long)
    return Predictions(
        torch.cat(predicted) if predicted else empty,
        torch.cat(labels) if labels else empty,
        tuple(broken),
        cancelled,
    )


def merged(parts: Sequence[Predictions]) -> Predictions:
    """The predictions of all processes in input order (each holds every N-th image)."""
    if len(parts) == 1:
        return parts[0]
    # Broken images are not in predicted/labels: interleave the rows that decoded, per image.
    rows: list[list[tuple[int, int] | None]] = []
    for part in parts:
        broken = set(part.broken)
        good = iter(zip(part.predicted.tolist(), part.labels.tolist(), strict=True))
        count = len(part.labels) + len(broken)
        rows.append([None if i in broken else next(good) for i in range(count)])
    ordered = interleave(rows)
    kept = [row for row in ordered if row is not None]
    empty = torch.empty(0, dtype=torch.long)
    return Predictions(
        torch.tensor([p for p, _ in kept], dtype=torch.long) if kept else empty,
        torch.tensor([t for _, t in kept], dtype=torch.long) if kept else empty,
        tuple(i for i, row in enumerate(ordered) if row is None),
        any(part.cancelled for part in parts),
    )


def _top1(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    if images.dim() == 5:
        batch, crops = images.shape[:2]
        probabilities = model(images.flatten(0, 1)).softmax(dim=1)
        return probabilities.view(batch, crops, -1).mean(dim=1).argmax(dim=1)
    return model(images).argmax(dim=1)


def confusion_report(
    predictions: Predictions, categories: Sequence[str], **details: Any
) -> EvaluationReport:
    """The confusion matrix over the classes that occur, in the model's class order."""
    occurring = sorted(set(predictions.labels.tolist()) | set(predictions.predicted.tolist()))
    position = {index: i for i, index in enumerate(occurring)}
    matrix = [[0] * len(occurring) for _ in occurring]
    pairs = zip(predictions.labels.tolist(), predictions.predicted.tolist(), strict=True)
    for true, guess in pairs:
        matrix[position[true]][position[guess]] += 1
    return EvaluationReport(
        labels=tuple(categories[i] for i in occurring),
        confusion=tuple(tuple(row) for row in matrix),
        skipped_images=len(set(predictions.broken)),
        **details,
    )


def evaluate(
    weights: Path | str | None,
    data_dir: Path | str,
    *,
    tta: bool = False,
    batch_size: int = 32,
    device: str = "auto",
    workers: int = 0,
    on_batch: Callable[[int, int], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> EvaluationReport:
    """Evaluate weights (``None``: ImageNet) on a class-per-folder tree (``val/`` if split).

    Raises:
        DatasetError: the folder is unusable or has a class the model does not know.
        WeightsError: the weights file cannot be loaded.
    """
    with joined(device) as place:
        loaded = load_weights(weights)
        folder = evaluation_root(data_dir)
        samples = match_classes(folder, loaded.spec.categories)
        target = resolve_device(device)
        model = loaded.model.to(target)
        loader = eval_loader(
            share(samples, place),
            loaded.spec.preprocessing,
            tta=tta,
            batch_size=batch_size,
            workers=workers,
            device=target,
        )
        mine = predict(model, loader, target, on_batch=on_batch, is_cancelled=is_cancelled)
        predictions = merged(gather_all(mine, place))
    if not predictions.cancelled and len(predictions.labels) == 0:
        raise DatasetError(
            f"None of the {len(samples)} images in {folder} could be read as an image; "
            "nothing was evaluated."
        )
    return confusion_report(
        predictions,
        loaded.spec.categories,
        tta=tta,
        device=device_label(target),
        folder=str(folder),
    )
