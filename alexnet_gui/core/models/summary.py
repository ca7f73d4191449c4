"""A layer table like Keras' ``model.summary()``: name, type, output shape, parameters.

Shapes are height x width x channels everywhere (table, JSON, README): conv1 of the paper's
AlexNet is 55x55x96, the input 227x227x3. A flat layer's shape is its one length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from alexnet_gui.core.models.architectures import INPUT_SIZES, build_model, named_layers


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int


@dataclass(frozen=True)
class ModelSummary:
    arch: str
    input_size: tuple[int, int, int]
    layers: tuple[LayerRow, ...]
    total_params: int

    def as_dict(self) -> dict[str, object]:
        return {
            "arch": self.arch,
            "input_size": list(self.input_size),
            "layers": [
                {
                    "name": row.name,
                    "type": row.type,
                    "output_shape": list(row.output_shape),
                    "params": row.params,
                }
                for row in self.layers
            ],
            "total_params": self.total_params,
        }


def summarize(arch: str, num_classes: int = 1000) -> ModelSummary:
    """Run one image through a fresh model and record every layer's output shape."""
    model = build_model(arch, num_classes=num_classes).eval()
    size = INPUT_SIZES[arch]
    layers = named_layers(model)
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [
        layer.module.register_forward_hook(
            lambda _m, _i, out, name=layer.name: shapes.__setitem__(name, _hwc(out.shape[1:]))
        )
        for layer in layers
    ]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, size, size))
    finally:
        for handle in handles:
            handle.remove()
    rows = tuple(
        LayerRow(
            name=layer.name,
            type=type(layer.module).__name__,
            output_shape=shapes[layer.name],
            params=sum(p.numel() for p in layer.module.parameters()),
        )
        for layer in layers
    )
    total = sum(p.numel() for p in model.parameters())
    return ModelSummary(arch, (size, size, 3), rows, total)


def _hwc(shape: torch.Size) -> tuple[int, ...]:
    """PyTorch's CxHxW as HxWxC; a flat (C,) stays as it is."""
    dims = tuple(int(d) for d in shape)
    return (*dims[1:], dims[0]) if len(dims) == 3 else dims


def format_summary(summary: ModelSummary) -> str:
    """The table as text, with thousands separators like Keras."""
    size = "x".join(str(d) for d in summary.input_size)
    header = f'Model: "alexnet ({summary.arch})"  input {size} (height x width x channels)'
    lines = [header, "-" * 68, f"{'Layer':<10}{'Type':<20}{'Output (HxWxC)':<22}{'Param #':>16}"]
    lines.append("=" * 68)
    for row in summary.layers:
        shape = "x".join(str(d) for d in row.output_shape)
        lines.append(f"{row.name:<10}{row.type:<20}{shape:<22}{row.params:>16,}")
    lines.append("=" * 68)
    lines.append(f"Total params: {summary.total_params:,}")
    return "\n".join(lines)
