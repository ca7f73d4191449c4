"""Finding and loading weights safely: the ImageNet file, a state_dict, or one of our checkpoints.

What the weights are (:class:`~alexnet_gui.core.models.spec.WeightsSpec`) is pure data in
:mod:`.spec`; the checkpoint format is owned by :mod:`.checkpoints`. This module turns a file into
a model and its spec, with ``weights_only=True`` only.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models import AlexNet_Weights

from alexnet_gui.core.errors import WeightsError, WeightsNotFoundError
from alexnet_gui.core.models.architectures import INPUT_SIZES, build_model, num_classes_of
from alexnet_gui.core.models.checkpoints import is_checkpoint, spec_from_checkpoint
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.paths import models_dir, torch_hub_checkpoints_dir


def imagenet_spec() -> WeightsSpec:
    """torchvision's ``AlexNet_Weights.IMAGENET1K_V1``, read from torchvision itself."""
    weights = AlexNet_Weights.IMAGENET1K_V1
    preset = weights.transforms()
    return WeightsSpec(
        name="ImageNet (torchvision)",
        arch="torchvision",
        categories=tuple(weights.meta["categories"]),
        preprocessing=Preprocessing(
            resize_size=int(preset.resize_size[0]),
            crop_size=int(preset.crop_size[0]),
            mean=tuple(preset.mean),
            std=tuple(preset.std),
            interpolation=preset.interpolation.value,
        ),
        source=weights.url,
        url=weights.url,
        metadata={"acc@1": weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]},
    )


def imagenet_file_name() -> str:
    """``alexnet-owt-7be5be79.pth``: the name torch.hub saves the official file under."""
    return AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]


def imagenet_search_paths() -> list[Path]:
    """Where the ImageNet weights are looked for, in order."""
    name = imagenet_file_name()
    return [torch_hub_checkpoints_dir() / name, models_dir() / name]


def find_imagenet_weights() -> Path | None:
    return next((p for p in imagenet_search_paths() if p.is_file()), None)


def missing_imagenet_message() -> str:
    where = " or ".join(str(p.parent) for p in imagenet_search_paths())
    return (
        f"ImageNet weights not found. Run `alexnet-gui download`, or put the official file "
        f"{imagenet_file_name()} into {where}."
    )


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
    """The ImageNet weights (``path=None``), a state_dict file, or one of our checkpoints."""
    if path is None:
        found = find_imagenet_weights()
        if found is None:
            raise WeightsNotFoundError(missing_imagenet_message())
        spec = replace(imagenet_spec(), source=str(found))
        state = _state_dict_of(read_weights_file(found), found)
        return LoadedModel(_model_from_state(state, spec, found), spec)

    path = Path(path)
    data = read_weights_file(path)
    if is_checkpoint(data):
        spec = spec_from_checkpoint(data, path)
        return LoadedModel(_model_from_state(data["state_dict"], spec, path), spec)
    state = _state_dict_of(data, path)
    spec = _spec_for_state_dict(state, path)
    return LoadedModel(_model_from_state(state, spec, path), spec)


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
    n = int(out.shape[0])
    imagenet = imagenet_spec().categories
    categories = imagenet if n == len(imagenet) else tuple(f"class {i}" for i in range(n))
    return WeightsSpec(
        name=path.name,
        arch="torchvision",
        categories=categories,
        preprocessing=Preprocessing(crop_size=INPUT_SIZES["torchvision"]),
        source=str(path),
    )


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
