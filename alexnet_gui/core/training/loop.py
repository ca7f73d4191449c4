"""Train or fine-tune an AlexNet on a class-per-folder data set, without any Qt.

:func:`train` runs in whatever thread calls it: it reports through ``on_progress`` (small frozen
:class:`TrainProgress` values a GUI can forward as signals) and stops, between batches, when
``is_cancelled`` says so or on KeyboardInterrupt. Two files come out:

* ``OUT``, the best epoch so far by validation accuracy (training accuracy without a validation
  set): an ordinary checkpoint that ``load_weights`` and the classifier read, with the class
  names, preprocessing, training arguments and per-epoch history;
* ``OUT.last``, the latest state with the optimizer, written after every epoch and on
  cancellation. ``resume=True`` continues from it: with the weights of the moment it stopped,
  re-running an interrupted epoch from its start. Delete it when the model is final.

Optimisation follows the paper (SGD, momentum 0.9, weight decay 5e-4; AdamW on request) with a
cosine learning rate per step instead of the paper's manual divide-by-ten, since the number of
epochs is known (see :mod:`alexnet_gui.core.training.optim`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import DataLoader

from alexnet_gui.core.errors import DatasetError
from alexnet_gui.core.inference.classifier import device_label, resolve_device
from alexnet_gui.core.models.checkpoints import checkpoint_dict, save_checkpoint
from alexnet_gui.core.models.spec import WeightsSpec
from alexnet_gui.core.training.augment import train_transform
from alexnet_gui.core.training.datasets import (
    DatasetSplit,
    ImageSamples,
    collate_skipping,
    discover_dataset,
)
from alexnet_gui.core.training.evaluation import eval_loader, predict
from alexnet_gui.core.training.optim import MixedPrecision, cosine_lr, make_optimizer
from alexnet_gui.core.training.state import (
    EpochMetrics,
    TrainConfig,
    TrainProgress,
    TrainResult,
    prepare_run,
    resume_file,
)

__all__ = [
    "EpochMetrics",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "cosine_lr",
    "resume_file",
    "train",
]


@dataclass
class _Run:
    """The mutable state of one run, in one place for saving and reporting."""

    config: TrainConfig
    model: nn.Module
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


def train(
    config: TrainConfig,
    *,
    on_progress: Callable[[TrainProgress], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train as ``config`` says; return the history and where the checkpoints are.

    Raises:
        DatasetError: the data folder is unusable.
        WeightsError: the starting weights or the resume file cannot be read or written.
        UserFacingError: an impossible setting (input size, device).
    """
    emit = on_progress or (lambda progress: None)
    stop = is_cancelled or (lambda: False)
    split = discover_dataset(config.data_dir, val_split=config.val_split, seed=config.seed)
    device = resolve_device(config.device)
    prepared = prepare_run(config, split.classes)
    if (prepared.config.val_split, prepared.config.seed) != (config.val_split, config.seed):
        # A resumed run validates on the images it validated on before, never on its training set.
        split = discover_dataset(
            config.data_dir, val_split=prepared.config.val_split, seed=prepared.config.seed
        )
    config = prepared.config
    assert config.epochs is not None and config.lr is not None, "prepare_run fills them in"
    model = prepared.model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(
        config.optimizer,
        trainable,
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    if prepared.optimizer_state is not None:
        optimizer.load_state_dict(dict(prepared.optimizer_state))
    run = _Run(
        config=config,
        model=model,
        spec=prepared.spec,
        optimizer=optimizer,
        started_from=prepared.started_from,
        history=list(prepared.history),
        best_epoch=prepared.best_epoch,
        best_score=prepared.best_score,
        device=device,
        precision=MixedPrecision(device, enabled=config.amp),
        started=time.perf_counter(),
        broken=set(),
    )
    shuffle = torch.Generator()
    train_data, val_data = _loaders(split, run, shuffle)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    counts = f"{len(split.train)} training and {len(split.val)} validation images"
    where = f"{len(split.classes)} classes, on {device_label(device)}"
    resuming = f"resuming after epoch {len(run.history)}: " if config.resume else ""
    message = f"{resuming}{run.started_from}; {counts}, {where}"
    emit(run.progress("setup", len(run.history), message=message))
    try:
        for epoch in range(len(run.history) + 1, config.epochs + 1):
            # Per-epoch seeds: a resumed run draws the same crops and order as an unbroken one.
            torch.manual_seed(config.seed * 100_003 + epoch)
            shuffle.manual_seed(config.seed * 100_003 + epoch)
            metrics = _train_epoch(run, epoch, train_data, val_data, emit, stop)
            if metrics is None:
                return _stop(run)
            run.history.append(metrics)
            score = metrics.val_acc if metrics.val_acc is not None else metrics.train_acc
            is_best = run.best_score is None or score > run.best_score
            if is_best:
                run.best_epoch, run.best_score = epoch, score
                save_checkpoint(config.out, run.checkpoint(full=False))
            save_checkpoint(resume_file(config.out), run.checkpoint(full=True))
            emit(
                run.progress(
                    "epoch",
                    epoch,
                    loss=metrics.loss,
                    train_acc=metrics.train_acc,
                    val_acc=metrics.val_acc,
                    is_best=is_best,
                )
            )
    except KeyboardInterrupt:
        return _stop(run)
    return run.result(cancelled=False)


def _loaders(
    split: DatasetSplit, run: _Run, shuffle: torch.Generator
) -> tuple[DataLoader, DataLoader | None]:
    """Augmented, shuffled training batches; center-crop (or TenCrop) validation batches."""
    config, pre = run.config, run.spec.preprocessing
    augment = train_transform(pre, augment=config.augment, lighting_std=config.lighting_std)
    train_data = DataLoader(
        ImageSamples(split.train, augment),
        batch_size=config.batch_size,
        shuffle=True,
        num_workers=config.workers,
        collate_fn=collate_skipping,
        pin_memory=run.device.type == "cuda",
        generator=shuffle,
    )
    if not split.val:
        return train_data, None
    val_data = eval_loader(
        split.val,
        pre,
        tta=config.tta,
        batch_size=max(1, config.batch_size // 10) if config.tta else config.batch_size,
        workers=config.workers,
        device=run.device,
    )
    return train_data, val_data


def _stop(run: _Run) -> TrainResult:
    """Save the state of this moment for ``resume`` and report a cancelled run."""
    save_checkpoint(resume_file(run.config.out), run.checkpoint(full=True))
    return run.result(cancelled=True)


def _train_epoch(
    run: _Run,
    epoch: int,
    train_data: DataLoader,
    val_data: DataLoader | None,
    emit: Callable[[TrainProgress], None],
    stop: Callable[[], bool],
) -> EpochMetrics | None:
    """One pass over the training set and one over the validation set; ``None`` if cancelled."""
    config, model = run.config, run.model
    batches = len(train_data)
    total_steps = run.epochs * batches
    warmup = round(config.warmup_epochs * batches)
    model.train()
    started = time.perf_counter()
    loss_sum, correct, seen, lr = 0.0, 0, 0, run.base_lr
    for batch, (images, labels, broken) in enumerate(train_data, start=1):
        if stop():
            return None
        run.broken.update(broken)
        if images is None:
            continue
        lr = cosine_lr((epoch - 1) * batches + batch - 1, total_steps, run.base_lr, warmup)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        images = images.to(run.device, non_blocking=True)
        labels = labels.to(run.device, non_blocking=True)
        with run.precision.autocast():
            logits = model(images)
            loss = nn.functional.cross_entropy(logits, labels)
        run.precision.step(loss, run.optimizer)
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(dim=1) == labels).sum())
        seen += len(labels)
        emit(
            run.progress(
                "train",
                epoch,
                batch=batch,
                batches=batches,
                loss=loss_sum / seen,
                train_acc=correct / seen,
            )
        )
    if seen == 0:
        images_total = len(cast(Sized, train_data.dataset))  # our datasets have a length
        raise DatasetError(
            f"None of the {images_total} training images could be read as an image; "
            "check that the class folders hold real picture files."
        )
    val_acc = None
    if val_data is not None:

        def on_val_batch(done: int, total: int) -> None:
            emit(run.progress("validate", epoch, batch=done, batches=total))

        predictions = predict(model, val_data, run.device, on_batch=on_val_batch, is_cancelled=stop)
        if predictions.cancelled:
            return None
        run.broken.update(-1 - index for index in predictions.broken)  # apart from train indices
        val_acc = predictions.accuracy
    return EpochMetrics(
        epoch=epoch,
        loss=loss_sum / seen if seen else math.nan,
        train_acc=correct / seen if seen else 0.0,
        val_acc=val_acc,
        lr=lr,
        seconds=time.perf_counter() - started,
    )
