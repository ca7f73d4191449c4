"""The Classifier against torchvision's own preset and model, on the same random weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import AlexNet_Weights

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.imaging.preprocess import denormalise
from alexnet_gui.core.inference.classifier import Classifier, resolve_device
from alexnet_gui.core.models.weights import load_weights
from alexnet_gui.core.visualize.inside import NetworkView, look_inside


@pytest.fixture(scope="module")
def chelsea(chelsea_rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(chelsea_rgb)


def _torchvision_probabilities(classifier: Classifier, image: Image.Image) -> torch.Tensor:
    preset = AlexNet_Weights.IMAGENET1K_V1.transforms()
    with torch.no_grad():
        return torch.softmax(classifier.model(preset(image).unsqueeze(0)), dim=1)[0]


def test_probabilities_equal_torchvisions(
    imagenet_like_classifier: Classifier, chelsea: Image.Image
) -> None:
    expected = _torchvision_probabilities(imagenet_like_classifier, chelsea)
    prediction = imagenet_like_classifier.classify(chelsea, topk=5)
    values, indices = torch.topk(expected, 5)
    assert [s.index for s in prediction.scores] == indices.tolist()
    assert [s.rank for s in prediction.scores] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([s.probability for s in prediction.scores], values, rtol=1e-5)
    categories = AlexNet_Weights.IMAGENET1K_V1.meta["categories"]
    assert [s.label for s in prediction.scores] == [categories[i] for i in indices.tolist()]
    assert prediction.device == "cpu" and prediction.elapsed_ms > 0


def test_tencrop_averages_the_ten_crops(
    imagenet_like_classifier: Classifier, chelsea: Image.Image
) -> None:
    crops = imagenet_like_classifier.preprocess(chelsea, tta=True)
    assert crops.shape == (10, 3, 224, 224)
    with torch.no_grad():
        expected = torch.softmax(imagenet_like_classifier.model(crops), dim=1).mean(dim=0)
    prediction = imagenet_like_classifier.classify(chelsea, topk=3, tta=True)
    assert prediction.tta
    assert [s.index for s in prediction.scores] == torch.topk(expected, 3).indices.tolist()
    assert prediction.top1.probability == pytest.approx(expected.max().item(), rel=1e-5)


def test_batch_equals_one_by_one(imagenet_like_classifier: Classifier, photo_folder: Path) -> None:
    images = [load_image(photo_folder / f"{n}.jpg") for n in ("chelsea", "coffee", "rocket")]
    batch = imagenet_like_classifier.classify_batch(images, topk=2)
    single = [imagenet_like_classifier.classify(image, topk=2) for image in images]
    for b, s in zip(batch, single, strict=True):
        assert [x.index for x in b.scores] == [x.index for x in s.scores]
        assert b.top1.probability == pytest.approx(s.top1.probability, rel=1e-4)


def test_topk_is_clamped_to_the_class_count(small_checkpoint_file: Path, chelsea) -> None:
    classifier = Classifier(load_weights(small_checkpoint_file), device="cpu")
    scores = classifier.classify(chelsea, topk=10).scores
    assert len(scores) == 3
    assert {s.label for s in scores} == {"apple", "banana", "cherry"}
    assert sum(s.probability for s in scores) == pytest.approx(1.0, abs=1e-5)


def _seen(classifier: Classifier, image: Image.Image, layer: str) -> NetworkView:
    """The classifier's model through look_inside, the one pass that keeps activations."""
    return look_inside(classifier, image, layer=layer, gradcam=False, topk=5)


def test_activations_come_from_the_same_pass(
    imagenet_like_classifier: Classifier, chelsea: Image.Image
) -> None:
    acts = {layer: _seen(imagenet_like_classifier, chelsea, layer).activations[layer]
            for layer in ("conv1", "relu1")}
    view = _seen(imagenet_like_classifier, chelsea, "fc8")
    assert acts["conv1"].shape == (64, 55, 55) and view.activations["fc8"].shape == (1000,)
    # conv1 is kept before the in-place ReLU overwrites it
    assert acts["conv1"].min() < 0 and acts["relu1"].min() >= 0
    np.testing.assert_allclose(acts["relu1"], np.maximum(acts["conv1"], 0), atol=1e-6)
    logits = torch.from_numpy(view.activations["fc8"])
    assert view.prediction.top1.index == int(logits.argmax())
    assert view.model_input.shape == (224, 224, 3)
    assert view.model_input.dtype == np.uint8
    crop = imagenet_like_classifier.preprocess(chelsea)[0]  # the model's input, denormalised
    pre = imagenet_like_classifier.spec.preprocessing
    np.testing.assert_array_equal(view.model_input, denormalise(crop, pre))


def test_only_the_chosen_layer_is_kept(
    imagenet_like_classifier: Classifier, chelsea: Image.Image
) -> None:
    assert set(look_inside(imagenet_like_classifier, chelsea, layer="pool5").activations) == {
        "pool5"
    }
    assert not any(
        layer.module._forward_hooks for layer in imagenet_like_classifier.layers
    ), "hooks must be removed after a pass"


def test_paper_model_classifies_at_227(paper_checkpoint_file: Path, chelsea) -> None:
    classifier = Classifier(load_weights(paper_checkpoint_file), device="cpu")
    view = _seen(classifier, chelsea, "conv1")
    assert view.activations["conv1"].shape == (96, 55, 55)
    assert _seen(classifier, chelsea, "lrn1").activations["lrn1"].shape == (96, 55, 55)
    assert view.model_input.shape == (227, 227, 3)
    assert classifier.info.num_classes == 3 and classifier.info.arch == "paper"


def test_devices() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserFacingError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(UserFacingError):
        resolve_device("tpu")


def test_odd_images_get_predictions(
    imagenet_like_classifier: Classifier, valid_odd_images: dict[str, Path]
) -> None:
    for name, path in valid_odd_images.items():
        prediction = imagenet_like_classifier.classify(load_image(path), topk=5)
        assert len(prediction.scores) == 5, name
