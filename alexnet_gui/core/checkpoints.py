"""The checkpoint format written by ``alexnet-gui train``.

A checkpoint is a plain dict of strings, numbers, lists and tensors, so that it loads with
``weights_only=True``. It carries the same facts as a :class:`WeightsSpec` (architecture, class
names, preprocessing), plus the training arguments and metrics that made it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from alexnet_gui.core.errors import WeightsError
from alexnet_gui.core.weights import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    Preprocessing,
    WeightsSpec,
)


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
            torch.save(dict(data), handle)
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


def spec_from_checkpoint(data: Mapping[str, Any], path: Path) -> WeightsSpec:
    """Read the spec back; a checkpoint missing a field is reported, not half-loaded."""
    try:
        version = int(data.get("version", 0))
        if version > CHECKPOINT_VERSION:
            raise WeightsError(
                f"{path.name} was written by a newer alexnet-gui (format {version}); "
                "update the app."
            )
        categories = tuple(str(c) for c in data["categories"])
        if not categories:
            raise WeightsError(f"{path.name} has no class names.")
        return WeightsSpec(
            name=str(data.get("name") or path.stem),
            arch=str(data["arch"]),
            categories=categories,
            preprocessing=Preprocessing.from_dict(data["preprocessing"]),
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
