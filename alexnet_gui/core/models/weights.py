"""Finding and loading weights safely: the ImageNet file, a state_dict, or one of our checkpoints.

What the weights are (:class:`~alexnet_gui.core.models.spec.WeightsSpec`) is pure data in
:mod:`.spec`, the ImageNet weights' facts in :mod:`.imagenet`; the checkpoint format is owned by
:mod:`.checkpoints`. This module turns a file into a model and its spec, with
``weights_only=True`` only.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from alexnet_gui.core.errors import WeightsError, WeightsNotFoundError
from alexnet_gui.core.models.architectures import build_model, num_classes_of
from alexnet_gui.core.models.checkpoints import is_checkpoint, spec_from_checkpoint
from alexnet_gui.core.models.filehash import file_stamp
from alexnet_gui.core.models.imagenet import (
    find_imagenet_weights,
    imagenet_file_name,
    imagenet_search_paths,
    imagenet_spec,
    missing_imagenet_message,
    state_dict_spec,
)
from alexnet_gui.core.models.spec import WeightsSpec, weights_file_facts, with_weights_file

__all__ = [
    "LoadedModel",
    "find_imagenet_weights",
    "imagenet_file_name",
    "imagenet_search_paths",
    "imagenet_spec",
    "load_weights",
    "missing_imagenet_message",
    "read_weights_file",
    "weights_file_facts",
]


@dataclass
class LoadedModel:
    """A model in eval mode on the CPU, with the spec that describes it."""

    model: nn.Module
    spec: WeightsSpec


def read_weights_file(path: Path) -> Any:
    """``torch.load`` with ``weights_only=True``; every failure becomes one WeightsError line."""
    if not path.exists():
        raise WeightsError(f"Weights file not found: {path}")
    if not path.is_file():
        raise WeightsError(f"Not a file: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if "weights_only" in str(exc) or "Unsupported" in str(exc) or "GLOBAL" in str(exc):
            raise WeightsError(
                f"Refused to load {path.name}: it holds Python objects, not just weights "
                "(it could run code). Save a plain state_dict instead."
            ) from exc
        raise WeightsError(f"{path.name} is not a PyTorch weights file ({first}).") from exc
    except Exception as exc:  # torch.load raises many types for a file that is not a checkpoint
        raise WeightsError(f"{path.name} is not a readable PyTorch weights file.") from exc


def load_weights(path: Path | str | None = None) -> LoadedModel:
    """The ImageNet weights (``path=None``), a state_dict file, or one of our checkpoints.

    The spec's metadata records the file (:func:`weights_file_facts`): the engine cache keys
    converted engines by the file's own hash, which the fast start path finds without torch.
    """
    if path is None:
        found = find_imagenet_weights()
        if found is None:
            raise WeightsNotFoundError(missing_imagenet_message())
        stamp = _stamp_of(found)
        spec = replace(imagenet_spec(), source=str(found))
        state = _state_dict_of(read_weights_file(found), found)
        spec = _with_file(spec, found, stamp, "imagenet")
        return LoadedModel(_model_from_state(state, spec, found), spec)

    path = Path(path)
    stamp = _stamp_of(path)
    data = read_weights_file(path)
    if is_checkpoint(data):
        spec = _with_file(spec_from_checkpoint(data, path), path, stamp, "checkpoint")
        return LoadedModel(_model_from_state(data["state_dict"], spec, path), spec)
    state = _state_dict_of(data, path)
    spec = _with_file(_spec_for_state_dict(state, path), path, stamp, "state_dict")
    return LoadedModel(_model_from_state(state, spec, path), spec)


def _stamp_of(path: Path) -> list[int] | None:
    try:
        return file_stamp(path)
    except OSError:
        return None  # read_weights_file words the problem


def _with_file(spec: WeightsSpec, path: Path, stamp: list[int] | None, kind: str) -> WeightsSpec:
    return spec if stamp is None else with_weights_file(spec, path, stamp, kind)


def _state_dict_of(data: Any, path: Path) -> Mapping[str, torch.Tensor]:
    if isinstance(data, Mapping) and isinstance(data.get("state_dict"), Mapping):
        data = data["state_dict"]
    if isinstance(data, Mapping) and data and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()
    ):
        return data
    raise WeightsError(f"{path.name} holds no AlexNet state_dict or alexnet-gui checkpoint.")


def _spec_for_state_dict(state: Mapping[str, torch.Tensor], path: Path) -> WeightsSpec:
    """A plain torchvision state_dict: ImageNet classes if it has 1000 outputs."""
    out = state.get("classifier.6.weight")
    if out is None:
        raise WeightsError(
            f"{path.name} does not fit torchvision's AlexNet (no classifier.6.weight); "
            "paper-architecture models are loaded from alexnet-gui checkpoints."
        )
    return state_dict_spec(path, int(out.shape[0]))


def _model_from_state(
    state: Mapping[str, torch.Tensor], spec: WeightsSpec, path: Path
) -> nn.Module:
    model = build_model(spec.arch, num_classes=spec.num_classes)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = _first_mismatch(str(exc))
        raise WeightsError(
            f"{path.name} does not fit the {spec.arch} AlexNet with {spec.num_classes} classes: "
            f"{detail}"
        ) from exc
    if num_classes_of(model) != spec.num_classes:
        raise WeightsError(f"{path.name}: class names and output layer disagree.")
    broken = [name for name, value in state.items() if not _all_finite(value)]
    if broken:
        more = f" and {len(broken) - 1} more" if len(broken) > 1 else ""
        raise WeightsError(
            f"{path.name} holds NaN or infinite weights (in {broken[0]}{more}); the training "
            "that made it probably diverged."
        )
    return model.eval()


def _all_finite(value: torch.Tensor) -> bool:
    """NaN weights load fine and give NaN for every image, and invalid JSON from the CLI.

    A sum is NaN or infinite when any element is; it takes a tenth of ``isfinite().all()``'s
    time (60 ms for AlexNet) and overflows float32 only for weights that are absurd anyway.
    """
    return not value.is_floating_point() or bool(torch.isfinite(value.sum(dtype=torch.float32)))


def _first_mismatch(message: str) -> str:
    for line in message.splitlines()[1:]:
        line = line.strip()
        if line:
            return line.rstrip(".")[:200]
    return message.splitlines()[0][:200]
