"""An input that excites one unit: regularised activation maximisation (Yosinski et al. 2015).

Gradient ascent on the input image from a small random start. Unregularised, the ascent finds
high-frequency patterns no photo has; regularisers make the result readable. Three of the paper's
four are here: L2 decay (shrinks the image towards the mean colour each step), Gaussian blur
every few steps (removes high frequencies) and, optionally, clipping of pixels with a small norm
(set to the mean colour); its fourth, clipping pixels of small contribution, is not. Jitter is
added, as later work in this line does: the image is shifted by a few random pixels before each
step, so the pattern must work wherever it lands. A conv unit is its channel at the centre of the
map, as in the paper. Jitter is capped at an eighth of the unit's receptive field:
shifting conv1's 11 px field by 8 px would average its pattern away (the unit measured lower at
the end than at the random start). Results are cached on disk per (weights, layer, unit,
settings), so asking again costs a file read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.imaging.preprocess import denormalise
from alexnet_gui.core.models.architectures import named_layers
from alexnet_gui.core.models.spec import Preprocessing
from alexnet_gui.core.visualize.units.cache import digest, load_npz, save_npz, units_cache_dir
from alexnet_gui.core.visualize.units.fields import receptive_fields

CACHE_VERSION = 2  # 2: a ReLU layer's unit is read before the ReLU


class MaximiseCancelled(UserFacingError):
    """The optimisation stopped on request."""


@dataclass(frozen=True)
class MaximiseSettings:
    """The ascent and its regularisers; defaults close to the paper's best-looking settings.

    ``step`` is the largest change of one input value per step (the gradient is scaled to a
    largest magnitude of 1), in units of the normalised input; ``clip_percentile`` 0 turns
    small-norm clipping off.
    """

    steps: int = 150
    step: float = 1.0
    l2_decay: float = 0.002
    blur_every: int = 4
    blur_sigma: float = 0.5
    jitter: int = 8
    clip_percentile: float = 0.0
    seed: int = 0


@dataclass(frozen=True, eq=False)
class MaximisedUnit:
    """The optimised input (HxWx3 uint8) and the unit's activation at the start and the end."""

    layer: str
    unit: int
    image: np.ndarray
    start_activation: float
    final_activation: float
    settings: MaximiseSettings
    cached: bool = False



def gaussian_blur(x: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an (N, C, H, W) batch, edges reflected (torchvision's rule,
    without importing torchvision, whose import costs seconds)."""
    half = (kernel - 1) / 2.0
    taps = torch.exp(-0.5 * (torch.linspace(-half, half, kernel, dtype=x.dtype) / sigma) ** 2)
    taps = (taps / taps.sum()).to(x.device)
    channels = x.shape[1]
    pad = kernel // 2
    x = nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
    x = nn.functional.conv2d(x, taps.view(1, 1, 1, kernel).repeat(channels, 1, 1, 1),
                             groups=channels)
    return nn.functional.conv2d(x, taps.view(1, 1, kernel, 1).repeat(channels, 1, 1, 1),
                                groups=channels)

def unit_objective(output: torch.Tensor, unit: int) -> torch.Tensor:
    """The unit's value: a fc neuron, or a channel at the centre of its map."""
    if not 0 <= unit < output.shape[1]:
        raise UserFacingError(f"The layer has units 0 to {output.shape[1] - 1}, not {unit}.")
    if output.ndim == 4:
        return output[0, unit, output.shape[2] // 2, output.shape[3] // 2]
    return output[0, unit]


def _activation(model: nn.Module, module: nn.Module, x: torch.Tensor, unit: int) -> torch.Tensor:
    """The unit's value for ``x``; for a ReLU layer the value going into the ReLU.

    Why before the ReLU: a unit that is 0 at the random start has a zero gradient after it,
    and the ascent would never move (seen on relu5 of a trained model: 0 after any steps).
    The ReLU only clips, so what raises its input raises its output.
    """
    kept: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        kept.append(unit_objective(output, unit).clone())  # before an in-place ReLU changes it

    def pre_hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        kept.append(unit_objective(inputs[0], unit).clone())

    handle = (module.register_forward_pre_hook(pre_hook) if isinstance(module, nn.ReLU)
              else module.register_forward_hook(hook))
    try:
        model(x)
    finally:
        handle.remove()
    return kept[0]


def maximise_unit(
    model: nn.Module,
    pre: Preprocessing,
    *,
    layer: str,
    unit: int,
    settings: MaximiseSettings = MaximiseSettings(),
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> MaximisedUnit:
    """Gradient ascent on the input of ``model`` (eval mode) for one unit of ``layer``."""
    module = next((n.module for n in named_layers(model) if n.name == layer), None)
    if module is None:
        raise UserFacingError(f"This model has no layer {layer}.")
    size = pre.crop_size
    mean = torch.tensor(pre.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, device=device).view(1, 3, 1, 1)
    low, high = (0 - mean) / std, (1 - mean) / std
    generator = torch.Generator().manual_seed(settings.seed)
    x = (torch.randn(1, 3, size, size, generator=generator) * 0.1).to(device)
    x = torch.maximum(torch.minimum(x, high), low)
    field = receptive_fields(model)[layer].size
    jitter = settings.jitter if field is None else min(settings.jitter, field // 8)
    shifts = torch.randint(-jitter, jitter + 1, (settings.steps, 2), generator=generator).tolist()
    kernel = 2 * max(1, round(2 * settings.blur_sigma)) + 1
    with torch.inference_mode(False), torch.enable_grad():
        start = float(_activation(model, module, x, unit).detach())
        for step in range(settings.steps):
            if cancelled is not None and cancelled():
                raise MaximiseCancelled("Optimisation cancelled.")
            dy, dx = shifts[step]
            moved = torch.roll(x, (dy, dx), dims=(2, 3)).detach().requires_grad_(True)
            value = _activation(model, module, moved, unit)
            (gradient,) = torch.autograd.grad(value, moved)
            gradient = torch.roll(gradient, (-dy, -dx), dims=(2, 3))
            x = x + settings.step * gradient / (gradient.abs().max() + 1e-12)
            x = x * (1.0 - settings.l2_decay)
            if settings.blur_every > 0 and settings.blur_sigma > 0 and (
                    step + 1) % settings.blur_every == 0:
                x = gaussian_blur(x, kernel, settings.blur_sigma)
            if settings.clip_percentile > 0:
                norms = x.norm(dim=1, keepdim=True)
                x = torch.where(norms < torch.quantile(norms, settings.clip_percentile / 100.0),
                                torch.zeros_like(x), x)
            x = torch.maximum(torch.minimum(x.detach(), high), low)
            if progress is not None:
                progress(step + 1, settings.steps)
        final = float(_activation(model, module, x, unit).detach())
    image = denormalise(x[0].cpu(), pre)
    return MaximisedUnit(layer, unit, image, start, final, settings)


def cache_file(model_key: str, layer: str, unit: int, settings: MaximiseSettings) -> Path:
    return units_cache_dir() / f"max-{digest(model_key, layer, unit, settings)}.npz"


def _meta(model_key: str, layer: str, unit: int, settings: MaximiseSettings) -> dict[str, object]:
    return {"version": CACHE_VERSION, "model": model_key, "layer": layer, "unit": unit,
            "settings": dataclasses.asdict(settings)}


def load_maximised(model_key: str, layer: str, unit: int,
                   settings: MaximiseSettings) -> MaximisedUnit | None:
    """The cached result for these weights, unit and settings, if there is one."""
    data = load_npz(cache_file(model_key, layer, unit, settings),
                    _meta(model_key, layer, unit, settings))
    if data is None:
        return None
    start, final = (float(v) for v in data["activations"])
    return MaximisedUnit(layer, unit, data["image"].astype(np.uint8), start, final, settings,
                         cached=True)


def save_maximised(model_key: str, result: MaximisedUnit) -> None:
    meta = _meta(model_key, result.layer, result.unit, result.settings)
    save_npz(cache_file(model_key, result.layer, result.unit, result.settings), meta,
             image=result.image,
             activations=np.array([result.start_activation, result.final_activation]))
