"""One training run's state and its set-up: what :mod:`.loop` trains with.

:class:`Run` keeps the mutable state in one place for saving and reporting; :func:`make_loaders`
builds the training and validation batches (the same order for one process or many);
:func:`setup_message` is the first line a run reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from alexnet_gui.core.inference.classifier import device_label
from alexnet_gui.core.models.checkpoints import checkpoint_dict
from alexnet_gui.core.models.spec import WeightsSpec
from alexnet_gui.core.training.augment import train_transform
from alexnet_gui.core.training.datasets import DatasetSplit, ImageSamples, collate_skipping
from alexnet_gui.core.training.distributed import Cluster, per_process_batch, share
from alexnet_gui.core.training.evaluation import eval_loader
from alexnet_gui.core.training.optim import MixedPrecision
from alexnet_gui.core.training.state import (
    EpochMetrics,
    TrainConfig,
    TrainProgress,
    TrainResult,
    resume_file,
)


@dataclass
class Run:
    """The mutable state of one run, in one place for saving and reporting."""

    config: TrainConfig
    model: nn.Module  # the bare model: what checkpoints hold, whatever the world size
    forward: nn.Module  # what the training step calls: the model, or DDP around it
    place: Cluster
    spec: WeightsSpec
    optimizer: torch.optim.Optimizer
    started_from: str
    history: list[EpochMetrics]
    best_epoch: int | None
    best_score: float | None
    device: torch.device
    precision: MixedPrecision
    started: float
    broken: set[int]

    @property
    def epochs(self) -> int:
        """``config.epochs``, which prepare_run always fills in."""
        assert self.config.epochs is not None
        return self.config.epochs

    @property
    def base_lr(self) -> float:
        """``config.lr``, which prepare_run always fills in."""
        assert self.config.lr is not None
        return self.config.lr

    def checkpoint(self, *, full: bool) -> dict:
        """The checkpoint dict; ``full`` adds the optimizer state that resuming needs.

        No RNG state is kept: every epoch seeds itself from ``seed`` and its number.
        """
        resume: dict = {
            "epoch": len(self.history),
            "history": [m.as_dict() for m in self.history],
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "seed": self.config.seed,
        }
        if full:
            resume["optimizer"] = self.optimizer.state_dict()
        best = self.history[self.best_epoch - 1] if self.best_epoch else None
        metrics = {
            "selected_by": "val_acc" if best is None or best.val_acc is not None else "train_acc",
            "best_epoch": self.best_epoch,
            "val_acc": best.val_acc if best else None,
            "train_acc": best.train_acc if best else None,
            "loss": best.loss if best else None,
            "history": resume["history"],
        }
        training = {**self.config.as_dict(), "started_from": self.started_from}
        return checkpoint_dict(
            self.model, self.spec, training=training, metrics=metrics, extra={"resume": resume}
        )

    def progress(self, phase: str, epoch: int, **fields: Any) -> TrainProgress:
        """A progress report with the run-wide fields (epochs, time, skipped images) filled in."""
        return TrainProgress(
            phase,
            epoch,
            self.epochs,
            elapsed_s=time.perf_counter() - self.started,
            skipped_images=len(self.broken),
            **fields,
        )

    def result(self, *, cancelled: bool) -> TrainResult:
        best = self.history[self.best_epoch - 1] if self.best_epoch else None
        return TrainResult(
            checkpoint=self.config.out if best else None,
            resume_file=resume_file(self.config.out),
            history=tuple(self.history),
            best_epoch=self.best_epoch,
            best_val_acc=best.val_acc if best else None,
            classes=self.spec.categories,
            started_from=self.started_from,
            cancelled=cancelled,
            skipped_images=len(self.broken),
            device=device_label(self.device),
        )


def setup_message(run: Run, split: DatasetSplit) -> str:
    """Where the run starts from, the data, the device, and the batch and learning rate."""
    config, place = run.config, run.place
    counts = f"{len(split.train)} training and {len(split.val)} validation images"
    where = f"{len(split.classes)} classes, on {device_label(run.device)}"
    batch = f"batch {config.batch_size}"
    if place.distributed:
        backend = "nccl" if run.device.type == "cuda" else "gloo"
        where += f" x {place.world_size} processes ({backend})"
        each = per_process_batch(config.batch_size, place)
        batch = f"global batch {config.batch_size} ({each} per process)"
    resuming = f"resuming after epoch {len(run.history)}: " if config.resume else ""
    return f"{resuming}{run.started_from}; {counts}, {where}; {batch}, peak lr {run.base_lr:g}"


def make_loaders(split: DatasetSplit, run: Run) -> tuple[DataLoader, DataLoader | None]:
    """Augmented, shuffled training batches; center-crop (or TenCrop) validation batches.

    One process or many, the order comes from a DistributedSampler (one replica when alone),
    seeded per epoch by ``set_epoch``: with N processes, rank r's batch k is every N-th image of
    the single-process batch k, so the N batches together are that batch. Validation images are
    shared out the same way, without the sampler's padding (no image is counted twice).
    """
    config, pre, place = run.config, run.spec.preprocessing, run.place
    augment = train_transform(pre, augment=config.augment, lighting_std=config.lighting_std)
    samples = ImageSamples(split.train, augment, augment_seed=config.seed)
    sampler: DistributedSampler[int] = DistributedSampler(
        samples,
        num_replicas=place.world_size,
        rank=place.rank,
        shuffle=True,
        seed=config.seed * 100_003,
        drop_last=False,
    )
    train_data = DataLoader(
        samples,
        batch_size=per_process_batch(config.batch_size, place),
        sampler=sampler,
        num_workers=config.workers,
        collate_fn=collate_skipping,
        pin_memory=run.device.type == "cuda",
    )
    if not split.val:
        return train_data, None
    batch = max(1, config.batch_size // 10) if config.tta else config.batch_size
    val_data = eval_loader(
        share(split.val, place),
        pre,
        tta=config.tta,
        batch_size=max(1, batch // place.world_size),
        workers=config.workers,
        device=run.device,
    )
    return train_data, val_data
