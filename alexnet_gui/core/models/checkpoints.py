"""The checkpoint format written by ``alexnet-gui train``.

A checkpoint is a plain dict of strings, numbers, lists and tensors, so that it loads with
``weights_only=True``. It carries the same facts as a :class:`WeightsSpec` (architecture, class
names, preprocessing), plus the training arguments and metrics that made it.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, cast

from torch import nn

from alexnet_gui.core.errors import WeightsError
from alexnet_gui.core.models.architectures import ARCHITECTURES, LARGEST_INPUT_SIZE, min_input_size
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec

#: The ``format`` field that marks a dict as one of our checkpoints, and the newest version we
#: write; a higher version is refused with a message rather than half-read.
CHECKPOINT_FORMAT = "alexnet-gui-checkpoint"
CHECKPOINT_VERSION = 1


def is_checkpoint(data: Any) -> bool:
    return isinstance(data, Mapping) and data.get("format") == CHECKPOINT_FORMAT


def checkpoint_dict(
    model: nn.Module,
    spec: WeightsSpec,
    *,
    training: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The dict :func:`save_checkpoint` writes; ``extra`` holds resumable state (optimizer...)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "name": spec.name,
        "arch": spec.arch,
        "categories": list(spec.categories),
        "preprocessing": spec.preprocessing.as_dict(),
        "source": spec.source,
        "training": dict(training or {}),
        "metrics": dict(metrics or {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **dict(extra or {}),
    }


def save_checkpoint(path: Path | str, data: Mapping[str, Any]) -> Path:
    """Write atomically: a temporary file in the same folder, then a rename.

    A full disk or a read-only folder raises WeightsError and leaves no partial file behind.
    """
    import torch

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WeightsError(f"Cannot write a checkpoint in {path.parent}: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            writer = _RecordingWriter(handle)
            try:
                torch.save(dict(data), cast(BinaryIO, writer))  # it has write() and flush()
            except RuntimeError as exc:
                # torch's zip writer reports a failed write() as "unexpected pos ..."
                if writer.error is None:
                    raise
                raise writer.error from exc
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WeightsError(f"Could not save the checkpoint {path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class _RecordingWriter:
    """A file for ``torch.save`` that remembers the OSError a write raised.

    torch's zip writer turns an error in ``write()`` (a full disk) into a RuntimeError about
    file positions; keeping the OSError lets the message say what really happened.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self._handle.flush()


def spec_from_checkpoint(data: Mapping[str, Any], path: Path) -> WeightsSpec:
    """Read the spec back; a checkpoint missing a field is reported, not half-loaded."""
    try:
        version = int(data.get("version", 0))
        if version > CHECKPOINT_VERSION:
            raise WeightsError(
                f"{path.name} was written by a newer alexnet-gui (format {version}); "
                "update the app."
            )
        arch = str(data["arch"])
        if arch not in ARCHITECTURES:
            raise WeightsError(
                f"{path.name} is for an architecture this app does not know ({arch[:40]!r}; "
                f"it knows {', '.join(ARCHITECTURES)})."
            )
        if not isinstance(data["categories"], list | tuple):
            raise WeightsError(f"{path.name}: its class names are not a list.")
        categories = tuple(str(c) for c in data["categories"])
        if not categories:
            raise WeightsError(f"{path.name} has no class names.")
        preprocessing = Preprocessing.from_dict(data["preprocessing"])
        check_preprocessing(preprocessing, arch, path)
        return WeightsSpec(
            name=str(data.get("name") or path.stem),
            arch=arch,
            categories=categories,
            preprocessing=preprocessing,
            source=str(path),
            metadata={
                "training": dict(data.get("training", {})),
                "metrics": dict(data.get("metrics", {})),
            },
        )
    except WeightsError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{path.name} is an incomplete alexnet-gui checkpoint ({exc}).") from exc


#: Interpolations both the Pillow path and the tensor fast path can resize with.
INTERPOLATIONS: frozenset[str] = frozenset({"nearest", "nearest-exact", "bilinear", "bicubic"})
#: Largest short side a checkpoint may ask images to be resized to (twice the largest crop).
LARGEST_RESIZE = 2048


def check_preprocessing(pre: Preprocessing, arch: str, path: Path) -> None:
    """Refuse preprocessing that would fail every classification or exhaust memory.

    A checkpoint is input like any file: ``resize_size`` of a million would make every picture
    a terapixel, a crop below the network's smallest input fails in every forward pass, and a
    zero std divides by zero. Better one clear message at load than a failure per image.
    """
    smallest = min_input_size(arch)
    problem = None
    if not smallest <= pre.crop_size <= LARGEST_INPUT_SIZE:
        problem = (
            f"crop size {pre.crop_size} is outside the {smallest}-{LARGEST_INPUT_SIZE} px the "
            f"{arch} AlexNet takes"
        )
    elif not pre.crop_size <= pre.resize_size <= LARGEST_RESIZE:
        problem = (
            f"resize size {pre.resize_size} is not between the crop size ({pre.crop_size}) "
            f"and {LARGEST_RESIZE} px"
        )
    elif len(pre.mean) != 3 or len(pre.std) != 3:
        problem = "mean and std need three values each (red, green, blue)"
    elif not all(math.isfinite(v) for v in (*pre.mean, *pre.std)) or min(pre.std) <= 0:
        problem = "mean and std must be finite numbers, and std above 0"
    elif pre.interpolation not in INTERPOLATIONS:
        problem = f"unknown interpolation {pre.interpolation[:40]!r}"
    if problem is not None:
        raise WeightsError(f"{path.name} has unusable preprocessing: {problem}.")
