"""Guided backpropagation, the deconvnet, guided Grad-CAM, and one unit's image in input space.

The three differ from the plain gradient only in how a ReLU passes a gradient back:

- plain backprop: ``R_in = R_out * [x > 0]`` (where the forward input was positive);
- deconvnet (Zeiler & Fergus, 2014): ``R_in = ReLU(R_out)`` (positive signals, whatever the input);
- guided backpropagation (Springenberg et al., 2015): ``R_in = ReLU(R_out) * [x > 0]`` (both).

The rule is swapped in for the duration of one call by hooks on the model's ``nn.ReLU`` modules. A
backward hook cannot do it here: torchvision's ReLUs are in-place, and PyTorch refuses full
backward hooks on modules that modify their input. Instead a forward pre-hook keeps a copy of the
ReLU's input (before the in-place op overwrites it) and a forward hook replaces the ReLU's output by
:class:`_RuleReLU` of that copy: the same values forward, the chosen rule backward. The hooks act
only on the calling thread's forward passes and are removed on exit; the model is never changed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from alexnet_gui.core.models.architectures import named_layers
from alexnet_gui.core.visualize.explain.base import (
    ExplainOptions,
    Explanation,
    check_batch,
    check_class,
    grad_enabled,
    probability,
)
from alexnet_gui.core.visualize.explain.cams import gradient_cam
from alexnet_gui.core.visualize.gradcam import LayerProbe, find_layer

BACKPROP_MODES: tuple[str, ...] = ("guided", "deconv")


class _RuleReLU(torch.autograd.Function):
    """ReLU forward; backward by the guided or deconvnet rule (see the module docstring)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, guided: bool) -> torch.Tensor:
        ctx.guided = guided
        positive = x > 0
        ctx.save_for_backward(positive)
        return x * positive

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (positive,) = ctx.saved_tensors
        passed = grad.clamp(min=0)
        return (passed * positive if ctx.guided else passed), None


@contextlib.contextmanager
def backprop_rule(model: nn.Module, mode: str) -> Iterator[None]:
    """Every ``nn.ReLU`` of ``model`` passes gradients back by ``mode``'s rule while inside."""
    if mode not in BACKPROP_MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(BACKPROP_MODES)}")
    guided = mode == "guided"
    thread = threading.get_ident()
    inputs: dict[int, torch.Tensor] = {}

    def keep_input(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if threading.get_ident() == thread:
            inputs[id(module)] = args[0].clone()

    def swap_output(module: nn.Module, _args: object, output: torch.Tensor) -> torch.Tensor | None:
        if threading.get_ident() != thread or id(module) not in inputs:
            return None
        return _RuleReLU.apply(inputs.pop(id(module)), guided)

    handles = []
    try:
        for module in model.modules():
            if isinstance(module, nn.ReLU):
                handles.append(module.register_forward_pre_hook(keep_input))
                handles.append(module.register_forward_hook(swap_output))
        yield
    finally:
        for handle in handles:
            handle.remove()
        inputs.clear()


def input_gradient(model: nn.Module, batch: torch.Tensor, class_index: int | None,
                   mode: str = "guided") -> tuple[int, float, np.ndarray]:
    """``(class, probability, 3 x H x W gradient of the class logit)`` under ``mode``'s rule."""
    with grad_enabled():
        inputs = batch.detach().clone().requires_grad_(True)
        with backprop_rule(model, mode):
            logits = model(inputs)
        index = check_class(class_index, logits)
        (gradient,) = torch.autograd.grad(logits[0, index], inputs)
    return index, probability(logits, index), _as_array(gradient[0])


def guided_backprop(model: nn.Module, batch: torch.Tensor, options: ExplainOptions) -> Explanation:
    index, score, gradient = input_gradient(model, batch, options.class_index)
    return Explanation("guided-backprop", None, index, score, gradient)


def guided_gradcam(model: nn.Module, batch: torch.Tensor, options: ExplainOptions) -> Explanation:
    """Guided backpropagation times the upsampled Grad-CAM map (Selvaraju et al., 2017, sec. 3)."""
    with grad_enabled():
        cam = gradient_cam(model, batch, ExplainOptions("gradcam", options.layer,
                                                        options.class_index))  # fmt: skip
    _, _, gradient = input_gradient(model, batch, cam.class_index)
    product = np.ascontiguousarray(gradient * cam.map[None], dtype=np.float32)
    return Explanation("guided-gradcam", cam.layer, cam.class_index, cam.score, product)


def unit_backprop(model: nn.Module, batch: torch.Tensor, *, layer: str, unit: int,
                  mode: str = "guided") -> np.ndarray:
    """One unit's image in input space: 3 x H x W float32, raw (see ``gradient_rgb``).

    A channel of a layer with maps (conv, ReLU, LRN, pool) is taken at its strongest activation
    for this image, as Zeiler and Fergus project it; an fc6/fc7/fc8 unit is its one value.
    ``mode`` is ``"guided"`` (Springenberg et al.) or ``"deconv"`` (Zeiler and Fergus).
    """
    check_batch(batch)
    target = find_layer(named_layers(model), layer)
    with grad_enabled():
        inputs = batch.detach().clone().requires_grad_(True)
        with backprop_rule(model, mode), LayerProbe(target.module, keep_graph=True) as probe:
            model(inputs)
        output = probe.output
        if output is None:
            raise RuntimeError(f"layer {layer} did not run in the forward pass")
        count = output.shape[1]
        if not 0 <= unit < count:
            raise ValueError(f"unit {unit} is out of range 0..{count - 1} for {layer}")
        value = output[0, unit].max() if output.ndim == 4 else output[0, unit]
        (gradient,) = torch.autograd.grad(value, inputs)
    return _as_array(gradient[0])


def _as_array(gradient: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(gradient.detach().float().cpu().numpy(), dtype=np.float32)
