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

Under ``torchrun`` the same function trains with DistributedDataParallel (the plumbing is in
:mod:`alexnet_gui.core.training.distributed`): ``batch_size`` is the global batch, split evenly,
and each epoch's order comes from a DistributedSampler seeded as the single-process order, so N
processes take the same steps as one. Augmentation is seeded per image (seed, epoch, index), so
it does not depend on the process either; dropout masks come from each process's own stream
(seed, epoch, rank), the one thing that differs from a single-process run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from alexnet_gui.core.errors import DatasetError, UserFacingError, WeightsError
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
from alexnet_gui.core.training.distributed import (
    FAILURES,
    Cluster,
    gather_all,
    joined,
    peer_lost,
    per_process_batch,
    share,
    shield,
    sum_across,
    wrap,
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


def train(
    config: TrainConfig,
    *,
    on_progress: Callable[[TrainProgress], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train as ``config`` says; return the history and where the checkpoints are.

    Under ``torchrun`` every process calls this; only rank 0 reports and writes files.

    Raises:
        DatasetError: the data folder is unusable.
        WeightsError: the starting weights or the resume file cannot be read or written.
        UserFacingError: an impossible setting (input size, device, a batch that does not
            divide among the processes).
        PeerLost: under ``torchrun``, another process failed; rank 0 saved ``OUT.last`` first.
    """
    with joined(config.device) as place:
        report = on_progress if on_progress is not None and place.is_main else None
        return _train(config, place, report, is_cancelled)


def _train(
    config: TrainConfig,
    place: Cluster,
    on_progress: Callable[[TrainProgress], None] | None,
    is_cancelled: Callable[[], bool] | None,
) -> TrainResult:
    emit = on_progress or (lambda progress: None)
    stop = is_cancelled or (lambda: False)
    split = discover_dataset(config.data_dir, val_split=config.val_split, seed=config.seed)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)  # the starting weights of a run from scratch
    prepared = prepare_run(config, split.classes)
    if (prepared.config.val_split, prepared.config.seed) != (config.val_split, config.seed):
        # A resumed run validates on the images it validated on before, never on its training set.
        split = discover_dataset(
            config.data_dir, val_split=prepared.config.val_split, seed=prepared.config.seed
        )
    config = prepared.config
    assert config.epochs is not None and config.lr is not None, "prepare_run fills them in"
    per_process_batch(config.batch_size, place)  # a batch that does not divide: say so now
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
        forward=wrap(model, place, device),
        place=place,
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
    train_data, val_data = _loaders(split, run)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    emit(run.progress("setup", len(run.history), message=_setup_message(run, split)))
    try:
        for epoch in range(len(run.history) + 1, config.epochs + 1):
            # Per-epoch seeds: a resumed run draws the same order, crops and dropout as an
            # unbroken one. The order and crops are the same in every process; dropout is not.
            cast(DistributedSampler, train_data.sampler).set_epoch(epoch)
            cast(ImageSamples, train_data.dataset).epoch = epoch
            torch.manual_seed(config.seed * 100_003 + epoch + 1_000_003 * place.rank)
            metrics = _train_epoch(run, epoch, train_data, val_data, emit, stop)
            if metrics is None:
                return _stop(run)
            run.history.append(metrics)
            score = metrics.val_acc if metrics.val_acc is not None else metrics.train_acc
            is_best = run.best_score is None or score > run.best_score
            if is_best:
                run.best_epoch, run.best_score = epoch, score
                if place.is_main:
                    save_checkpoint(config.out, run.checkpoint(full=False))
            if place.is_main:
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
    except UserFacingError:
        raise
    except FAILURES as exc:
        if not place.distributed:
            raise
        raise peer_lost(place, exc, _save_last(run)) from exc
    return run.result(cancelled=False)


def _setup_message(run: _Run, split: DatasetSplit) -> str:
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


def _loaders(split: DatasetSplit, run: _Run) -> tuple[DataLoader, DataLoader | None]:
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


def _stop(run: _Run) -> TrainResult:
    """Save the state of this moment for ``resume`` and report a cancelled run."""
    _save_last(run)
    return run.result(cancelled=True)


def _save_last(run: _Run) -> str | None:
    """Rank 0 writes ``OUT.last`` (every process holds the same weights); where, or ``None``.

    After a failed step the weights are those of the last finished one: an optimizer step is
    one native call, so it has either happened or not.
    """
    if not run.place.is_main:
        return None
    if run.place.distributed:
        shield()  # torchrun's SIGTERM to the survivors must not cut the save short
    path = resume_file(run.config.out)
    try:
        save_checkpoint(path, run.checkpoint(full=True))
    except WeightsError:
        return None
    return str(path)


def _train_epoch(
    run: _Run,
    epoch: int,
    train_data: DataLoader,
    val_data: DataLoader | None,
    emit: Callable[[TrainProgress], None],
    stop: Callable[[], bool],
) -> EpochMetrics | None:
    """One pass over the training set and one over the validation set; ``None`` if cancelled."""
    config, model = run.config, run.forward
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
            if not run.place.distributed:
                continue
            # Every process must take part in every step's all-reduce: an empty batch does.
            size = run.spec.preprocessing.crop_size
            images = torch.zeros(0, 3, size, size)
        lr = cosine_lr((epoch - 1) * batches + batch - 1, total_steps, run.base_lr, warmup)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        images = images.to(run.device, non_blocking=True)
        labels = labels.to(run.device, non_blocking=True)
        with run.precision.autocast():
            logits = model(images)
            loss = nn.functional.cross_entropy(logits, labels) if len(labels) else logits.sum() * 0
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
    loss_sum, correct, seen = _summed(run, loss_sum, correct, seen)
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

        predictions = predict(
            run.model, val_data, run.device, on_batch=on_val_batch, is_cancelled=stop
        )
        if predictions.cancelled:
            return None
        place = run.place
        # Back to the index in the whole validation set, negative apart from train indices.
        run.broken.update(-1 - (place.rank + i * place.world_size) for i in predictions.broken)
        right = int((predictions.predicted == predictions.labels).sum())
        right_total, count = sum_across([right, len(predictions.labels)], place)
        val_acc = right_total / count if count else None
        run.broken.update(*gather_all(sorted(run.broken), place))
    if val_data is None:
        run.broken.update(*gather_all(sorted(run.broken), run.place))
    return EpochMetrics(
        epoch=epoch,
        loss=loss_sum / seen if seen else math.nan,
        train_acc=correct / seen if seen else 0.0,
        val_acc=val_acc,
        lr=lr,
        seconds=time.perf_counter() - started,
    )


def _summed(run: _Run, loss_sum: float, correct: int, seen: int) -> tuple[float, int, int]:
    """The epoch's loss sum, correct count and image count over all processes."""
    total_loss, total_correct, total_seen = sum_across([loss_sum, correct, seen], run.place)
    return total_loss, int(total_correct), int(total_seen)
