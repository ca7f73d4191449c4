"""Receptive fields from the layers' own kernel, stride and padding, against known values."""

from __future__ import annotations

import pytest
from torch import nn

from alexnet_gui.core.models.architectures import build_model
from alexnet_gui.core.visualize.units.fields import ReceptiveField, receptive_fields


@pytest.fixture(scope="module")
def torchvision_fields() -> dict[str, ReceptiveField]:
    return receptive_fields(build_model("torchvision", num_classes=10))


def test_torchvision_alexnet_fields_by_hand(torchvision_fields):
    f = torchvision_fields
    # conv1: 11x11 kernels, stride 4, padding 2: unit 0 is centred on pixel 5 - 2 = 3.
    assert (f["conv1"].size, f["conv1"].stride, f["conv1"].start) == (11, 4, 3.0)
    assert f["relu1"] == f["conv1"]
    # pool1 3/2 adds 2 * 4; conv2 5x5 adds 4 * 8; pool2 adds 2 * 8; conv3-5 add 2 * 16 each.
    assert (f["pool1"].size, f["pool1"].stride) == (19, 8)
    assert (f["conv2"].size, f["pool2"].size, f["pool2"].stride) == (51, 67, 16)
    assert [f[n].size for n in ("conv3", "conv4", "conv5")] == [99, 131, 163]
    assert (f["pool5"].size, f["pool5"].stride) == (195, 32)
    assert f["fc6"].size is None and f["fc8"].size is None


def test_the_paper_alexnet_has_the_same_sizes_unpadded():
    f = receptive_fields(build_model("paper", num_classes=10))
    assert (f["conv1"].size, f["conv1"].stride, f["conv1"].start) == (11, 4, 5.0)
    assert f["lrn1"] == f["conv1"]
    assert (f["pool5"].size, f["pool5"].stride) == (195, 32)


def test_a_dilated_padded_toy_network():
    class Toy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 2, 3, stride=2, padding=1, dilation=2),
                                          nn.ReLU(), nn.MaxPool2d(2, 2))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(2, 2))

    f = receptive_fields(Toy())
    # dilation 2 makes the 3-tap kernel span 5 pixels; padding 1 puts unit 0 at 2 - 1 = 1.
    assert (f["conv1"].size, f["conv1"].stride, f["conv1"].start) == (5, 2, 1.0)
    assert (f["pool1"].size, f["pool1"].stride, f["pool1"].start) == (7, 4, 2.0)


def test_boxes_are_centred_and_clipped(torchvision_fields):
    conv1 = torchvision_fields["conv1"]
    assert conv1.box(0, 0, 224) == (0, 0, 9, 9)  # centre 3: pixels -2..8, clipped at 0
    assert conv1.box(10, 20, 224) == (78, 38, 89, 49)  # centres 83 and 43, 11 px wide
    assert conv1.box(54, 54, 224) == (214, 214, 224, 224)  # centre 219: clipped at 224
    assert torchvision_fields["fc7"].box(0, 0, 224) == (0, 0, 224, 224)
    pool5 = torchvision_fields["pool5"]
    left, top, right, bottom = pool5.box(3, 3, 224)
    assert (left, top, right, bottom) == (31 + 96 - 97, 31 + 96 - 97, 224, 224)
