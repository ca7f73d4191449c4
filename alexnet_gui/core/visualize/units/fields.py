"""Receptive fields: which square of the model's input each unit of a layer sees.

Computed from the layers' own kernel sizes, strides and paddings (the usual recurrence: a layer
with kernel k and stride s grows the field by ``(k - 1) * jump`` and multiplies the jump by s),
so both AlexNets get theirs without a table that could drift from the code. fc units see the
whole input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from alexnet_gui.core.models.architectures import named_layers

#: Layer kinds whose units see the whole input.
DENSE_KINDS = ("avgpool", "dropout", "linear")


@dataclass(frozen=True)
class ReceptiveField:
    """A unit at map position i sees ``size`` pixels centred on ``start + i * stride``.

    ``size`` is ``None`` for fc units (the whole input).
    """

    size: int | None
    stride: int
    start: float

    def box(self, y: int, x: int, input_size: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in input pixels, clipped to the input; right/bottom open."""
        if self.size is None:
            return (0, 0, input_size, input_size)
        half = (self.size - 1) / 2.0

        def span(i: int) -> tuple[int, int]:
            centre = self.start + i * self.stride
            low, high = round(centre - half), round(centre + half) + 1
            return max(0, low), min(input_size, high)

        left, right = span(x)
        top, bottom = span(y)
        return (left, top, right, bottom)


def _first(value: Any) -> int:
    """The height part of a size given as an int or a (height, width) tuple."""
    return int(value[0] if isinstance(value, tuple) else value)


def _padding(value: object, kernel: int) -> float:
    """Padding in pixels; Conv2d also takes "valid" (none) and "same" (half the kernel)."""
    if isinstance(value, str):
        return 0.0 if value == "valid" else (kernel - 1) / 2.0
    return float(_first(value))


def receptive_fields(model: nn.Module) -> dict[str, ReceptiveField]:
    """Every named layer's receptive field (conv1, relu1, ..., pool5, fc6, ..., fc8)."""
    fields: dict[str, ReceptiveField] = {}
    size, jump, start = 1, 1, 0.0
    dense = False
    for layer in named_layers(model):
        module = layer.module
        if layer.kind in DENSE_KINDS:
            dense = True
        elif isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            kernel = _first(module.kernel_size)
            stride = _first(module.stride)
            dilation = _first(getattr(module, "dilation", 1))
            kernel = dilation * (kernel - 1) + 1
            padding = _padding(module.padding, kernel)
            start += ((kernel - 1) / 2.0 - padding) * jump
            size += (kernel - 1) * jump
            jump *= stride
        fields[layer.name] = ReceptiveField(None if dense else size, jump, start)
    return fields
