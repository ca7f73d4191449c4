"""A network small enough to differentiate by hand, and the 4x4 picture the hand cases use.

``x`` (3 x 4 x 4) -> conv1 (1x1, identity: ``A_k = x_k``) -> relu1 -> mean over space (``m_k``)
-> fc6 with weights ``W`` (no biases). So ``y_c = sum_k W_ck m_k`` and, at relu1,
``dy_c/dA_kij = W_ck / 16`` wherever ``x_kij`` is positive: every map's value can be worked out
on paper. The picture (zeros elsewhere):

- channel 0: 4 at (0, 0), 2 at (1, 1), -5 at (2, 2)   (relu1: 4, 2, 0; sum 6)
- channel 1: 2 at (1, 1), 1 at (3, 3)                 (sum 3)
- channel 2: 3 everywhere                             (sum 48)

Logits of the picture: ``y_0 = (2*6 - 3)/16 = 9/16``, ``y_1 = (-6 + 3 + 0.5*48)/16 = 21/16``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

W = [[2.0, -1.0, 0.0], [-1.0, 1.0, 0.5]]


class HandNet(nn.Module):
    """AlexNet's outline (features, avgpool, classifier), so that the layer names work."""

    def __init__(self, *, inplace: bool = True) -> None:
        super().__init__()
        conv = nn.Conv2d(3, 3, kernel_size=1, bias=False)
        linear = nn.Linear(3, 2, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            linear.weight.copy_(torch.tensor(W))
        self.features = nn.Sequential(conv, nn.ReLU(inplace=inplace))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(linear)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def picture() -> torch.Tensor:
    x = torch.zeros(1, 3, 4, 4)
    x[0, 0, 0, 0], x[0, 0, 1, 1], x[0, 0, 2, 2] = 4.0, 2.0, -5.0
    x[0, 1, 1, 1], x[0, 1, 3, 3] = 2.0, 1.0
    x[0, 2] = 3.0
    return x


def grid(values: dict[tuple[int, int], float], rest: float = 0.0) -> np.ndarray:
    """A 4x4 float32 array: ``rest`` everywhere but at the given cells."""
    out = np.full((4, 4), rest, np.float32)
    for (i, j), value in values.items():
        out[i, j] = value
    return out
