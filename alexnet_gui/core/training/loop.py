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
from typing import cast

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from alexnet_gui.core.errors import DatasetError, UserFacingError, WeightsError
from alexnet_gui.core.inference.classifier import resolve_device
from alexnet_gui.core.models.checkpoints import save_checkpoint
from alexnet_gui.core.training.datasets import (
    ImageSamples,
    discover_dataset,
)
from alexnet_gui.core.training.distributed import (
    FAILURES,
    Cluster,
    gather_all,
    joined,
    peer_lost,
    per_process_batch,
    shield,
    sum_across,
    wrap,
)
from alexnet_gui.core.training.evaluation import predict
from alexnet_gui.core.training.optim import MixedPrecision, cosine_lr, make_optimizer
from alexnet_gui.core.training.run import Run, make_loaders, setup_message
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
    run = Run(
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
    train_data, val_data = make_loaders(split, run)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    emit(run.progress("setup", len(run.history), message=setup_message(run, split)))
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


def _stop(run: Run) -> TrainResult:
    """Save the state of this moment for ``resume`` and report a cancelled run."""
    _save_last(run)
    return run.result(cancelled=True)


def _save_last(run: Run) -> str | None:
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
    run: Run,
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


def _summed(run: Run, loss_sum: float, correct: int, seen: int) -> tuple[float, int, int]:
    """The epoch's loss sum, correct count and image count over all processes."""
    total_loss, total_correct, total_seen = sum_across([loss_sum, correct, seen], run.place)
    return total_loss, int(total_correct), int(total_seen)
