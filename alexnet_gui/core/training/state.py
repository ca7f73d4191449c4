"""What a training run is told, what it reports, and how it is set up or resumed.

The values here cross threads (the GUI's training worker forwards :class:`TrainProgress` as a
signal) and files (:class:`TrainConfig` and :class:`EpochMetrics` are stored in checkpoints as
plain dicts, so that they load with ``weights_only=True``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from torch import nn

from alexnet_gui.core.errors import DatasetError, WeightsError
from alexnet_gui.core.models.architectures import build_model
from alexnet_gui.core.models.checkpoints import is_checkpoint
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.core.models.weights import read_weights_file
from alexnet_gui.core.training.optim import OPTIMIZERS
from alexnet_gui.core.training.start import INIT_IMAGENET, freeze_features, starting_point

DEFAULT_EPOCHS = 10
SCRATCH_LR = 0.01
FINE_TUNE_LR = 0.001


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run.

    ``None`` fields get a default that depends on the starting point (lr, freezing, input
    size). With ``resume``, the settings saved in ``OUT.last`` win, except ``data_dir``, ``out``,
    ``epochs`` (``None``: the saved number), ``device``, ``workers``, ``tta`` and ``amp``.
    """

    data_dir: Path
    out: Path
    arch: str | None = None
    init: str | None = None  # "imagenet", "scratch", a weights file; None: the recipe
    freeze_features: bool | None = None  # None: freeze when starting from ImageNet
    epochs: int | None = None
    batch_size: int = 32
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: str = "sgd"
    warmup_epochs: float = 0.0
    input_size: int | None = None
    val_split: float = 0.2
    augment: str = "crop"
    lighting_std: float = 0.1
    tta: bool = False
    amp: bool = False  # bfloat16 autocast (float16 on GPUs without bfloat16)
    device: str = "auto"
    resume: bool = False
    workers: int = 0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["data_dir"], data["out"] = str(self.data_dir), str(self.out)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["data_dir"], values["out"] = Path(values["data_dir"]), Path(values["out"])
        return cls(**values)


@dataclass(frozen=True)
class TrainProgress:
    """One step of a run: ``setup`` (with ``message``), ``train`` and ``validate`` per batch,
    ``epoch`` at the end of an epoch (with its metrics; ``is_best`` when ``OUT`` was written).
    Epochs count from 1; ``loss`` and ``train_acc`` are running means over the epoch so far.
    """

    phase: str
    epoch: int
    epochs: int
    batch: int = 0
    batches: int = 0
    loss: float | None = None
    train_acc: float | None = None
    val_acc: float | None = None
    elapsed_s: float = 0.0
    skipped_images: int = 0
    is_best: bool = False
    message: str = ""


@dataclass(frozen=True)
class EpochMetrics:
    """The numbers of one finished epoch."""

    epoch: int
    loss: float
    train_acc: float
    val_acc: float | None
    lr: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpochMetrics:
        val = data.get("val_acc")
        return cls(
            epoch=int(data["epoch"]),
            loss=float(data["loss"]),
            train_acc=float(data["train_acc"]),
            val_acc=None if val is None else float(val),
            lr=float(data["lr"]),
            seconds=float(data["seconds"]),
        )


@dataclass(frozen=True)
class TrainResult:
    """How a run ended: ``checkpoint`` is the best epoch's file (``None`` if none finished)."""

    checkpoint: Path | None
    resume_file: Path
    history: tuple[EpochMetrics, ...]
    best_epoch: int | None
    best_val_acc: float | None
    classes: tuple[str, ...]
    started_from: str
    cancelled: bool
    skipped_images: int
    device: str


@dataclass
class PreparedRun:
    """A model ready for the first (or next) epoch, with the settings resolved."""

    config: TrainConfig
    model: nn.Module
    spec: WeightsSpec
    started_from: str
    history: list[EpochMetrics] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    optimizer_state: Mapping[str, Any] | None = None


def resume_file(out: Path | str) -> Path:
    """``OUT.last``: the latest, resumable state beside the best checkpoint."""
    out = Path(out)
    return out.with_name(out.name + ".last")


def prepare_run(config: TrainConfig, classes: tuple[str, ...]) -> PreparedRun:
    """The starting model for a new run, or the saved state for ``config.resume``."""
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of {OPTIMIZERS}")
    if config.resume:
        return _resumed(config, classes)
    start = starting_point(
        classes, arch=config.arch, init=config.init, input_size=config.input_size
    )
    from_imagenet = start.pretrained and config.init in (None, INIT_IMAGENET)
    freeze = from_imagenet if config.freeze_features is None else config.freeze_features
    config = replace(
        config,
        arch=start.arch,
        freeze_features=freeze,
        epochs=config.epochs or DEFAULT_EPOCHS,
        lr=config.lr or (FINE_TUNE_LR if start.pretrained else SCRATCH_LR),
        input_size=start.preprocessing.crop_size,
    )
    if freeze:
        freeze_features(start.model)
    started_from = start.description + (", features frozen" if freeze else "")
    spec = WeightsSpec(
        name=config.out.stem,
        arch=start.arch,
        categories=classes,
        preprocessing=start.preprocessing,
        source=f"alexnet-gui train on {config.data_dir.name} ({started_from})",
    )
    return PreparedRun(config, start.model, spec, started_from)


def _resumed(config: TrainConfig, classes: tuple[str, ...]) -> PreparedRun:
    """Saved settings, except where the data is, how long, on what hardware, and the options
    that only change how it runs (validation TenCrop, mixed precision)."""
    path = resume_file(config.out)
    if not path.exists():
        raise WeightsError(f"Nothing to resume: {path} does not exist (train without --resume).")
    data = read_weights_file(path)
    if not is_checkpoint(data) or not isinstance(data.get("resume"), Mapping):
        raise WeightsError(f"{path.name} holds no resumable training state.")
    try:
        saved = TrainConfig.from_dict(data["training"])
        state = data["resume"]
        history = [EpochMetrics.from_dict(m) for m in state["history"]]
        saved_classes = tuple(str(c) for c in data["categories"])
        preprocessing = Preprocessing.from_dict(data["preprocessing"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{path.name} has incomplete training state ({exc}).") from exc
    if saved_classes != classes:
        raise DatasetError(
            f"The classes in {config.data_dir} ({', '.join(classes)}) differ from the run being "
            f"resumed ({', '.join(saved_classes)})."
        )
    config = replace(
        saved,
        data_dir=config.data_dir,
        out=config.out,
        epochs=config.epochs or saved.epochs,
        device=config.device,
        workers=config.workers,
        tta=config.tta,
        amp=config.amp,
        resume=True,
    )
    model = build_model(str(saved.arch), num_classes=len(classes))
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise WeightsError(f"{path.name} does not fit its own settings ({exc}).") from exc
    if config.freeze_features:
        freeze_features(model)
    spec = WeightsSpec(
        name=config.out.stem,
        arch=str(saved.arch),
        categories=classes,
        preprocessing=preprocessing,
        source=str(data.get("source", "")),
    )
    # Without OUT (moved or deleted) the best so far is gone: the next epoch writes a new one.
    best_epoch, best_score = (
        (state.get("best_epoch"), state.get("best_score")) if config.out.exists() else (None, None)
    )
    return PreparedRun(
        config,
        model,
        spec,
        str(data["training"].get("started_from", "")),
        history,
        best_epoch,
        best_score,
        state.get("optimizer"),
    )
