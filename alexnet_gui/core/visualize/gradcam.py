"""Grad-CAM (Selvaraju et al., 2017): which parts of the image carry the evidence for a class.

The class score's gradient with respect to the last conv layer's rectified output (relu5, 13x13
for both AlexNets), averaged over space, weighs each channel; the weighted sum of the channels,
rectified, is the map: ``cam = ReLU(sum_k mean(dy_c/dA_k) * A_k)``. It is scaled by its maximum
so that 0 keeps meaning "no evidence", then upsampled bilinearly to the crop.

It runs in the caller's forward pass: a :class:`LayerProbe` keeps the target layer's output while
the model runs with gradients on, and ``torch.autograd.grad`` differentiates the chosen score with
respect to that output alone. No parameter's ``requires_grad`` or ``.grad`` is touched (the input is
made to require grad instead, so frozen models work too), and the probe's hook is removed on exit
and ignores other threads' forward passes, so nothing is left behind and no state is shared.
:func:`probed_forward` and :func:`class_gradient` are that pass and that gradient on their own;
Grad-CAM++, LayerCAM and the other methods of :mod:`alexnet_gui.core.visualize.explain` use them,
and its Grad-CAM is :func:`compute_grad_cam` itself, upsampled to the input.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from alexnet_gui.core.models.architectures import NamedLayer, named_layers
from alexnet_gui.core.visualize.drawing import resize_bilinear


@dataclass(frozen=True, eq=False)
class GradCam:
    """A Grad-CAM map: ``cam`` at the layer's resolution, ``heatmap`` at the crop's; both in [0, 1].

    ``score`` is the class's logit (the quantity differentiated). An all-zero map means no spatial
    position adds positive evidence for the class.
    """

    class_index: int
    score: float
    layer: str
    cam: np.ndarray
    heatmap: np.ndarray


def find_layer(layers: Sequence[NamedLayer], name: str) -> NamedLayer:
    """The named layer, or a ValueError that lists the names there are."""
    for layer in layers:
        if layer.name == name:
            return layer
    names = ", ".join(layer.name for layer in layers)
    raise ValueError(f"no layer {name!r}; the model has {names}")


def default_target(layers: Sequence[NamedLayer]) -> NamedLayer:
    """relu5: the ReLU right after the last conv (or that conv, if no ReLU follows it)."""
    last = max(i for i, layer in enumerate(layers) if layer.kind == "conv")
    if last + 1 < len(layers) and layers[last + 1].kind == "relu":
        return layers[last + 1]
    return layers[last]


class LayerProbe:
    """Keeps one module's output from forward passes run by the thread that entered it.

    With ``keep_graph`` (for Grad-CAM) the output itself is kept, still attached to the autograd
    graph, and a clone travels on through the network, so a later in-place op (torchvision's
    ``ReLU(inplace=True)`` after conv5) cannot overwrite the kept values. Without it, a detached
    copy of the first item of the batch is kept, for display.
    """

    def __init__(self, module: nn.Module, *, keep_graph: bool = False) -> None:
        self.module = module
        self.keep_graph = keep_graph
        self.output: torch.Tensor | None = None
        self._thread = threading.get_ident()
        self._handle: torch.utils.hooks.RemovableHandle | None = None

    def __enter__(self) -> LayerProbe:
        self._thread = threading.get_ident()
        self._handle = self.module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _hook(
        self, _module: nn.Module, _inputs: object, output: torch.Tensor
    ) -> torch.Tensor | None:
        if threading.get_ident() != self._thread:
            return None
        if not self.keep_graph:
            self.output = output.detach()[:1].clone()
            return None
        self.output = output
        return output.clone()


def class_gradient(
    activation: torch.Tensor, logits: torch.Tensor, class_index: int | None = None
) -> tuple[int, torch.Tensor, torch.Tensor]:
    """``(class_index, score, d score / d activation)`` for ``logits[0, class_index]``.

    ``class_index`` ``None`` is the top-1 class; the score is the logit, still attached. Shared by
    Grad-CAM and the other gradient-weighted maps in :mod:`alexnet_gui.core.visualize.explain`.
    """
    if not activation.requires_grad:
        raise ValueError("the activation is not part of an autograd graph; run with grad enabled")
    if class_index is None:
        class_index = int(logits[0].argmax())
    if not 0 <= class_index < logits.shape[1]:
        raise ValueError(f"class index {class_index} is out of range 0..{logits.shape[1] - 1}")
    score = logits[0, class_index]
    (gradient,) = torch.autograd.grad(score, activation, retain_graph=False)
    return class_index, score.detach(), gradient


def compute_grad_cam(
    activation: torch.Tensor,
    logits: torch.Tensor,
    *,
    class_index: int | None = None,
    size: tuple[int, int],
    layer: str = "",
) -> GradCam:
    """Grad-CAM of ``logits[0, class_index]`` (default: the top-1 class) at ``activation``.

    ``activation`` is the (1, K, h, w) output kept by a ``keep_graph`` probe during the forward pass
    that produced ``logits``; the graph is freed afterwards. ``size`` is the crop's (height, width).
    """
    if activation.ndim != 4 or activation.shape[0] != 1:
        raise ValueError(f"Grad-CAM needs one image's (1, K, h, w) maps, got {activation.shape}")
    class_index, score, gradient = class_gradient(activation, logits, class_index)
    weights = gradient[0].float().mean(dim=(1, 2))
    cam = torch.relu(torch.einsum("k,khw->hw", weights, activation[0].detach().float()))
    peak = cam.max()
    cam = cam / peak if peak > 0 else torch.zeros_like(cam)
    cam_np = np.ascontiguousarray(cam.cpu().numpy(), dtype=np.float32)
    heatmap = np.clip(resize_bilinear(cam_np, *size), 0.0, 1.0)
    return GradCam(class_index, float(score), layer, cam_np, heatmap)


def probed_forward(
    model: nn.Module, inputs: torch.Tensor, layer: str | None = None
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``(logits, activation, layer name)``: one forward pass keeping ``layer``'s output (relu5).

    Run it with gradients enabled; the activation stays attached to the graph, for
    :func:`class_gradient`. The probe's hook is gone when this returns.
    """
    layers = named_layers(model)
    target = default_target(layers) if layer is None else find_layer(layers, layer)
    with LayerProbe(target.module, keep_graph=True) as probe:
        logits = model(inputs)
    if probe.output is None:
        raise RuntimeError(f"layer {target.name} did not run in the forward pass")
    return logits, probe.output, target.name


def grad_cam(
    model: nn.Module,
    batch: torch.Tensor,
    *,
    class_index: int | None = None,
    layer: str | None = None,
) -> tuple[torch.Tensor, GradCam]:
    """One forward pass with gradients, then Grad-CAM; returns the (detached) logits too.

    ``batch`` is one preprocessed crop (1, 3, S, S) on the model's device; ``layer`` a name from
    :func:`~alexnet_gui.core.models.architectures.named_layers` (default relu5).
    """
    with torch.inference_mode(False), torch.enable_grad():
        inputs = batch.detach().clone().requires_grad_(True)
        logits, activation, name = probed_forward(model, inputs, layer)
        result = compute_grad_cam(
            activation,
            logits,
            class_index=class_index,
            size=(batch.shape[-2], batch.shape[-1]),
            layer=name,
        )
    return logits.detach(), result
