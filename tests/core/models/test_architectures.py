"""Both AlexNets: parameter counts, the paper's shapes, layer names."""

from __future__ import annotations

import pytest
import torch

from alexnet_gui.core.models.architectures import build_model, first_conv, named_layers
from alexnet_gui.core.models.summary import summarize


@pytest.mark.parametrize(("arch", "params"), [("torchvision", 61_100_840), ("paper", 60_965_224)])
def test_parameter_counts(arch: str, params: int) -> None:
    model = build_model(arch)
    assert sum(p.numel() for p in model.parameters()) == params
    assert summarize(arch).total_params == params


def test_paper_output_shapes_match_the_paper() -> None:
    shapes = {row.name: row.output_shape for row in summarize("paper").layers}
    assert shapes["conv1"] == (55, 55, 96)  # height x width x channels
    assert shapes["pool1"] == (27, 27, 96)
    assert shapes["conv2"] == (27, 27, 256)
    assert shapes["pool2"] == (13, 13, 256)
    assert shapes["conv3"] == (13, 13, 384)
    assert shapes["conv4"] == (13, 13, 384)
    assert shapes["conv5"] == (13, 13, 256)
    assert shapes["pool5"] == (6, 6, 256)
    assert (shapes["fc6"], shapes["fc7"], shapes["fc8"]) == ((4096,), (4096,), (1000,))


def test_paper_has_lrn_and_two_groups() -> None:
    model = build_model("paper")
    lrn = model.features.lrn1
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 2.0)
    convs = ("conv1", "conv2", "conv3", "conv4", "conv5")
    assert [getattr(model.features, name).groups for name in convs] == [1, 2, 1, 2, 2]
    assert first_conv(model).out_channels == 96
    assert model.classifier.drop6.p == 0.5


def test_both_architectures_share_layer_names() -> None:
    tv = [layer.name for layer in named_layers(build_model("torchvision"))]
    paper = [layer.name for layer in named_layers(build_model("paper"))]
    assert [n for n in paper if not n.startswith("lrn")] == tv
    assert tv[:3] == ["conv1", "relu1", "pool1"] and tv[-1] == "fc8"


def test_custom_class_count_and_small_inputs() -> None:
    model = build_model("paper", num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 96, 96)).shape == (2, 10)


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg")
