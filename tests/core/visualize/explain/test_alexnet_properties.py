"""Every method on AlexNet: shapes, ranges, progress, cancel, and the model left as it was."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from alexnet_gui.core.visualize.explain import (
    GRADIENT_METHODS,
    LAYER_METHODS,
    METHODS,
    SLOW_METHODS,
    ExplainOptions,
    ExplanationCancelled,
    explain,
    unit_backprop,
)
from tests.fixtures.models import model_state, random_model

SIZE = 128  # AlexNet takes it (relu5 is 7x7) at a third of 224's cost
FAST = {"occlusion_patch": 48, "occlusion_stride": 40, "batch_size": 64}


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return random_model("torchvision", num_classes=10)


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("method", METHODS)
def test_every_method_shape_range_and_nothing_left_behind(
    model: nn.Module, batch: torch.Tensor, method: str
) -> None:
    before, weights = model_state(model), copy.deepcopy(model.state_dict())
    calls: list[tuple[int, int]] = []
    result = explain(model, batch, ExplainOptions(method, class_index=3, **FAST),
                     progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert result.method == method and result.class_index == 3
    with torch.no_grad():
        expected = float(torch.softmax(model(batch), dim=1)[0, 3])
    assert result.score == pytest.approx(expected, rel=1e-4)
    assert result.map.dtype == np.float32 and np.isfinite(result.map).all()
    if method in GRADIENT_METHODS:
        assert result.map.shape == (3, SIZE, SIZE) and np.abs(result.map).max() > 0
    else:
        assert result.map.shape == (SIZE, SIZE)
        assert result.map.min() >= 0.0 and result.map.max() == pytest.approx(1.0)
    assert result.layer == ("relu5" if method in LAYER_METHODS else None)
    if method in SLOW_METHODS:
        assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1] > 0
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert model_state(model) == before and before["hooks"] == [] and before["grads"] == []
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, weights[name]), name


@pytest.mark.parametrize("method", sorted(SLOW_METHODS))
def test_cancel_between_batches(model: nn.Module, batch: torch.Tensor, method: str) -> None:
    before = model_state(model)
    calls: list[tuple[int, int]] = []
    with pytest.raises(ExplanationCancelled):
        explain(model, batch, ExplainOptions(method, batch_size=2, occlusion_stride=8),
                progress=lambda done, total: calls.append((done, total)),
                cancelled=lambda: len(calls) >= 2)  # fmt: skip
    assert [done for done, _ in calls] == [0, 2]  # one batch ran, then it stopped
    assert model_state(model) == before


def test_cams_at_other_layers_and_bad_requests(model: nn.Module, batch: torch.Tensor) -> None:
    for method, layer in (("layercam", "relu2"), ("gradcam", "conv5"), ("gradcam++", "pool2"),
                          ("scorecam", "relu1"), ("guided-gradcam", "relu4")):  # fmt: skip
        result = explain(model, batch, ExplainOptions(method, layer=layer, batch_size=64))
        assert result.layer == layer and result.map.shape[-2:] == (SIZE, SIZE)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        explain(model, batch, ExplainOptions("gradcam", layer="conv9"))
    with pytest.raises(ValueError, match="no spatial maps"):
        explain(model, batch, ExplainOptions("layercam", layer="fc6"))
    for method in METHODS:
        with pytest.raises(ValueError, match="out of range"):
            explain(model, batch, ExplainOptions(method, class_index=10, **FAST))
    with pytest.raises(ValueError, match="unknown method"):
        explain(model, batch, ExplainOptions("saliency"))
    with pytest.raises(ValueError, match="at least 1"):
        explain(model, batch, ExplainOptions("occlusion", occlusion_stride=0))
    with pytest.raises(ValueError, match="one preprocessed image"):
        explain(model, batch.repeat(2, 1, 1, 1), ExplainOptions("gradcam"))
    assert model_state(model)["hooks"] == []


def test_inside_a_callers_inference_mode(model: nn.Module, batch: torch.Tensor) -> None:
    for method in ("gradcam", "guided-backprop"):
        expected = explain(model, batch, ExplainOptions(method)).map
        with torch.inference_mode():
            result = explain(model, batch.clone(), ExplainOptions(method)).map
        np.testing.assert_allclose(result, expected, atol=1e-6)


def test_gradcam_is_the_panels_gradcam_upsampled(model: nn.Module, batch: torch.Tensor) -> None:
    from alexnet_gui.core.visualize.drawing import resize_bilinear
    from alexnet_gui.core.visualize.gradcam import grad_cam

    _, old = grad_cam(model, batch, class_index=4)
    new = explain(model, batch, ExplainOptions("gradcam", class_index=4)).map
    upsampled = np.clip(resize_bilinear(old.cam, SIZE, SIZE), 0, None)
    np.testing.assert_allclose(new, upsampled / upsampled.max(), atol=1e-5)


@pytest.mark.parametrize("layer", ["conv1", "relu3", "pool5", "fc6", "relu7", "fc8"])
def test_unit_backprop_on_alexnet(model: nn.Module, batch: torch.Tensor, layer: str) -> None:
    before = model_state(model)
    guided = unit_backprop(model, batch, layer=layer, unit=2, mode="guided")
    deconv = unit_backprop(model, batch, layer=layer, unit=2, mode="deconv")
    for image in (guided, deconv):
        assert image.shape == (3, SIZE, SIZE) and image.dtype == np.float32
        assert np.isfinite(image).all() and np.abs(image).max() > 0
    if layer != "conv1":  # conv1 has no ReLU below it: both rules give the plain gradient
        assert not np.allclose(guided, deconv)
    assert model_state(model) == before
