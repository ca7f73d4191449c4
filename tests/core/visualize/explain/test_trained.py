"""On a trained model (real decision margins), each method tells two classes apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alexnet_gui.core.engines.calibration import bundled_photos
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.models.weights import LoadedModel
from alexnet_gui.core.visualize.explain import METHODS, ExplainOptions, explain

#: Score-CAM at relu1 (64 maps) instead of relu5 (256): the same method at a quarter of the cost.
OPTIONS = {"scorecam": {"layer": "relu1", "batch_size": 64},
           "occlusion": {"occlusion_patch": 56, "occlusion_stride": 56}}  # fmt: skip


@pytest.fixture(scope="module")
def chelsea_batch(photo_classifier: LoadedModel) -> torch.Tensor:
    photo = next(p for p in bundled_photos() if p.stem == "chelsea")
    return eval_transform(photo_classifier.spec.preprocessing)(load_image(photo))[None]


@pytest.mark.parametrize("method", METHODS)
def test_the_top1_and_another_class_get_different_maps(
    photo_classifier: LoadedModel, chelsea_batch: torch.Tensor, method: str
) -> None:
    model = photo_classifier.model
    with torch.no_grad():
        probabilities = torch.softmax(model(chelsea_batch), dim=1)[0]
    top1 = int(probabilities.argmax())
    assert photo_classifier.spec.categories[top1] == "chelsea" and probabilities[top1] > 0.5
    other = int(probabilities.argsort(descending=True)[1])
    first, second = (explain(model, chelsea_batch,
                             ExplainOptions(method, class_index=index, **OPTIONS.get(method, {})))
                     for index in (None, other))  # fmt: skip
    assert first.class_index == top1 and second.class_index == other
    assert first.score == pytest.approx(float(probabilities[top1]), rel=1e-4)
    assert first.score > second.score
    assert np.abs(first.map).max() > 0 and np.abs(second.map).max() > 0
    assert not np.allclose(first.map, second.map, atol=1e-3 * np.abs(first.map).max())
    again = explain(model, chelsea_batch, ExplainOptions(method, **OPTIONS.get(method, {})))
    np.testing.assert_allclose(again.map, first.map, rtol=1e-5, atol=1e-6)  # deterministic
