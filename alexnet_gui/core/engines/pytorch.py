"""The PyTorch engine: the Classifier's own model, the reference every other engine is held to.

On the CPU it is plain fp32 eager, exactly what ``inspect()`` and Grad-CAM compute. On a CUDA GPU
it runs the same weights under float16 autocast with channels-last inputs, which is what tensor
cores want; the model itself stays fp32, so hooks, gradients and a switch back to the CPU are
unaffected, and no second copy of the weights is made.
"""

from __future__ import annotations

import torch
from torch import nn


class PyTorchEngine:
    """Runs ``model`` wherever its parameters are; it follows ``Classifier.set_device``."""

    name = "pytorch"

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.agreement: float | None = 1.0
        self.info: dict[str, object] = {}
        self._channels_last = False

    @property
    def label(self) -> str:
        return "PyTorch fp16" if self._device().type == "cuda" else "PyTorch fp32"

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def run(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) as float32 on the model's device."""
        device = self._device()
        if device.type != "cuda":
            return self.model(batch.to(device)).float()
        if not self._channels_last:
            # Only 4-D conv weights change layout; values, hooks and gradients stay the same.
            self.model.to(memory_format=torch.channels_last)
            self._channels_last = True
        batch = batch.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.float16):
            return self.model(batch).float()
