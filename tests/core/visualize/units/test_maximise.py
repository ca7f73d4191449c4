"""Activation maximisation raises its unit, is cached per settings, and stops on cancel."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.models.spec import Preprocessing
from alexnet_gui.core.visualize.units import maximise
from alexnet_gui.core.visualize.units.maximise import MaximiseSettings

PRE = Preprocessing(resize_size=72, crop_size=64)
FAST = MaximiseSettings(steps=25, jitter=2)  # 8 px is for 224 px inputs


class Small(nn.Module):
    """AlexNet's outline with two conv stages: enough depth for the regularisers to matter."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 5, stride=2), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(2), nn.Conv2d(8, 12, 3), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(nn.Linear(48, 16), nn.ReLU(inplace=True),
                                        nn.Linear(16, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return Small().eval()


@pytest.mark.parametrize(("layer", "unit"), [("conv2", 3), ("relu2", 7), ("fc6", 2), ("fc7", 4)])
def test_the_ascent_raises_the_unit_above_the_random_start(model, layer, unit):
    result = maximise.maximise_unit(model, PRE, layer=layer, unit=unit, settings=FAST)
    start, final = result.start_activation, result.final_activation
    assert final > start + 0.1 and final > 2 * abs(start)  # measured: +0.17 to +1.0
    assert result.image.shape == (64, 64, 3) and result.image.dtype == np.uint8
    assert result.image.std() > 1.0  # a pattern, not a flat grey
    assert all(not p.requires_grad or p.grad is None for p in model.parameters())


def test_every_regulariser_can_be_on_and_the_ascent_still_climbs(model):
    settings = MaximiseSettings(steps=25, l2_decay=0.01, blur_every=2, blur_sigma=1.0,
                                jitter=4, clip_percentile=20.0)
    result = maximise.maximise_unit(model, PRE, layer="conv2", unit=3, settings=settings)
    assert result.final_activation > result.start_activation + 0.1


def test_descending_instead_would_lower_it(model, monkeypatch):
    """The direction matters: with the gradient's sign flipped the unit goes down."""
    grad = torch.autograd.grad

    def flipped(output, inputs):
        return tuple(-g for g in grad(output, inputs))

    monkeypatch.setattr(maximise.torch.autograd, "grad", flipped)
    result = maximise.maximise_unit(model, PRE, layer="fc7", unit=4, settings=FAST)
    assert result.final_activation < result.start_activation


def test_results_are_cached_per_weights_unit_and_settings(model):
    result = maximise.maximise_unit(model, PRE, layer="fc6", unit=2, settings=FAST)
    assert maximise.load_maximised("w", "fc6", 2, FAST) is None
    maximise.save_maximised("w", result)
    cached = maximise.load_maximised("w", "fc6", 2, FAST)
    assert cached is not None and cached.cached
    np.testing.assert_array_equal(cached.image, result.image)
    assert cached.final_activation == pytest.approx(result.final_activation)
    assert maximise.load_maximised("w", "fc6", 2, dataclasses.replace(FAST, steps=26)) is None
    assert maximise.load_maximised("w", "fc6", 3, FAST) is None
    assert maximise.load_maximised("other weights", "fc6", 2, FAST) is None


def test_cancel_and_bad_units(model):
    steps: list[int] = []
    with pytest.raises(maximise.MaximiseCancelled):
        maximise.maximise_unit(model, PRE, layer="conv1", unit=0, settings=FAST,
                               progress=lambda done, total: steps.append(done),
                               cancelled=lambda: len(steps) >= 3)
    assert steps == [1, 2, 3]
    with pytest.raises(UserFacingError, match="units 0 to 4"):
        maximise.maximise_unit(model, PRE, layer="fc7", unit=5, settings=FAST)
    with pytest.raises(UserFacingError, match="no layer"):
        maximise.maximise_unit(model, PRE, layer="conv9", unit=0, settings=FAST)


def test_alexnet_conv1_climbs_with_the_default_jitter():
    """8 px of jitter on conv1's 11 px field used to end below the start: it is capped now."""
    from alexnet_gui.core.models.architectures import build_model

    torch.manual_seed(0)
    alexnet = build_model("torchvision", num_classes=10).eval()
    settings = MaximiseSettings(steps=10)
    for unit in (0, 7):
        result = maximise.maximise_unit(alexnet, Preprocessing(), layer="conv1", unit=unit,
                                        settings=settings)
        assert result.final_activation > result.start_activation + 0.1


@pytest.mark.parametrize(("kernel", "sigma"), [(3, 0.5), (5, 1.0), (9, 2.0)])
def test_the_blur_is_torchvisions_without_importing_it(kernel, sigma):
    from torchvision.transforms import functional as tf

    x = torch.randn(2, 3, 40, 52, generator=torch.Generator().manual_seed(kernel))
    expected = tf.gaussian_blur(x, [kernel, kernel], [sigma, sigma])
    assert torch.allclose(maximise.gaussian_blur(x, kernel, sigma), expected, atol=1e-6)


def test_a_relu_unit_dead_at_the_start_still_climbs():
    """relu5 unit 7 of a trained model stayed 0 after any number of steps: its gradient after
    the ReLU is zero. The ascent reads the value going into the ReLU, and it climbs."""
    model = Small().eval()
    with torch.no_grad():
        model.features[3].bias[5] = -50.0  # relu2's unit 5 is 0 for any start image
    result = maximise.maximise_unit(model, PRE, layer="relu2", unit=5, settings=FAST)
    assert result.start_activation < -10  # before the ReLU: how far below zero it starts
    assert result.final_activation > result.start_activation + 0.1
