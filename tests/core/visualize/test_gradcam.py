"""Grad-CAM and the panel's view: correct maps, right places, nothing left behind."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from alexnet_gui.core.imaging.preprocess import denormalise
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.architectures import build_model, named_layers
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.core.models.weights import LoadedModel
from alexnet_gui.core.visualize.explain import ExplainOptions, explain, explanation_rgb
from alexnet_gui.core.visualize.explain.rendering import explain_colormap
from alexnet_gui.core.visualize.gradcam import default_target, find_layer, grad_cam
from alexnet_gui.core.visualize.inside import (
    EXPLAIN_COLORMAP,
    crop_box,
    kernel_view,
    look_inside,
)
from tests.fixtures.models import model_state, random_model


@pytest.fixture(scope="module")
def chelsea(chelsea_rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(chelsea_rgb)


@pytest.fixture(scope="module")
def paper_model() -> nn.Module:
    return random_model("paper", num_classes=10)


def _manual_cam(model: nn.Module, batch: torch.Tensor, layer: str, class_index: int) -> np.ndarray:
    """Grad-CAM by cutting the network in two at ``layer``: no hooks involved."""
    module = next(item.module for item in named_layers(model) if item.name == layer)
    modules = list(model.features)
    cut = next(i for i, m in enumerate(modules) if m is module) + 1
    with torch.no_grad():
        x = batch.clone()
        for m in modules[:cut]:
            x = m(x)
    maps = x.detach().clone().requires_grad_(True)
    y = maps.clone()  # the in-place ReLU after conv5 must not touch ``maps``
    for m in modules[cut:]:
        y = m(y)
    logits = model.classifier(torch.flatten(model.avgpool(y), 1))
    (gradient,) = torch.autograd.grad(logits[0, class_index], maps)
    cam = torch.relu(torch.einsum("k,khw->hw", gradient[0].mean(dim=(1, 2)), maps[0].detach()))
    return (cam / cam.max()).numpy()


@pytest.mark.parametrize(("arch", "layer"), [("torchvision", "relu5"), ("torchvision", "conv5"),
                                             ("paper", "relu5")])  # fmt: skip
def test_grad_cam_equals_the_definition(
    imagenet_like_classifier: Classifier, paper_model: nn.Module, arch: str, layer: str
) -> None:
    model = imagenet_like_classifier.model if arch == "torchvision" else paper_model
    size = 224 if arch == "torchvision" else 227
    batch = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    logits, result = grad_cam(model, batch, layer=layer)
    with torch.no_grad():
        expected_logits = model(batch)
    top = int(expected_logits.argmax())
    assert result.class_index == top and result.layer == layer
    assert result.score == pytest.approx(float(expected_logits[0, top]), rel=1e-4)
    torch.testing.assert_close(logits, expected_logits, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(result.cam, _manual_cam(model, batch, layer, top), atol=1e-4)
    assert result.cam.shape == (13, 13) and result.cam.dtype == np.float32
    assert result.heatmap.shape == (size, size) and result.heatmap.dtype == np.float32
    assert result.cam.max() == pytest.approx(1.0) and result.heatmap.min() >= 0.0
    assert result.heatmap.max() <= 1.0


def test_conv5_and_relu5_differ_because_the_inplace_relu_is_sidestepped(
    imagenet_like_classifier: Classifier,
) -> None:
    batch = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    _, relu5 = grad_cam(imagenet_like_classifier.model, batch, layer="relu5", class_index=3)
    _, conv5 = grad_cam(imagenet_like_classifier.model, batch, layer="conv5", class_index=3)
    assert not np.allclose(relu5.cam, conv5.cam)


def test_default_target_is_relu5_for_both_architectures(paper_model: nn.Module) -> None:
    assert default_target(named_layers(build_model("torchvision", 3))).name == "relu5"
    assert default_target(named_layers(paper_model)).name == "relu5"


@pytest.mark.parametrize("frozen", [False, True])
def test_nothing_is_left_behind(paper_model: nn.Module, frozen: bool) -> None:
    model = build_model("torchvision", num_classes=5).eval()
    if frozen:  # a fine-tuned model may come with its features frozen
        for parameter in model.features.parameters():
            parameter.requires_grad_(False)
    for candidate in (model, paper_model):
        before = model_state(candidate)
        size = 224 if candidate is model else 227
        _, result = grad_cam(candidate, torch.rand(1, 3, size, size), class_index=1)
        assert result.cam.max() > 0
        assert model_state(candidate) == before
        assert before["hooks"] == [] and before["grads"] == []


def test_explicit_class_and_bad_class(imagenet_like_classifier: Classifier) -> None:
    batch = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    logits, result = grad_cam(imagenet_like_classifier.model, batch, class_index=7)
    assert result.class_index == 7
    assert result.score == pytest.approx(float(logits[0, 7]), rel=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        grad_cam(imagenet_like_classifier.model, batch, class_index=1000)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        grad_cam(imagenet_like_classifier.model, batch, layer="conv9")


def test_works_inside_a_callers_inference_mode(imagenet_like_classifier: Classifier) -> None:
    batch = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(4))
    _, expected = grad_cam(imagenet_like_classifier.model, batch)
    with torch.inference_mode():
        inference_batch = batch.clone()
        _, result = grad_cam(imagenet_like_classifier.model, inference_batch)
    np.testing.assert_allclose(result.cam, expected.cam, atol=1e-5)


def test_threads_do_not_see_each_others_activations(imagenet_like_classifier: Classifier) -> None:
    model = imagenet_like_classifier.model
    generator = torch.Generator().manual_seed(5)
    batches = [torch.randn(1, 3, 224, 224, generator=generator) for _ in range(2)]
    expected = [grad_cam(model, batch, class_index=0)[1].cam for batch in batches]
    results: dict[int, np.ndarray] = {}
    barrier = threading.Barrier(2)

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(2):
            results[i] = grad_cam(model, batches[i], class_index=0)[1].cam

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for i in range(2):
        np.testing.assert_allclose(results[i], expected[i], atol=1e-5)


# --- the panel's view -----------------------------------------------------------------------------


def test_look_inside_matches_the_classifier(
    imagenet_like_classifier: Classifier, chelsea: Image.Image
) -> None:
    classifier = imagenet_like_classifier
    before = model_state(classifier.model)
    view = look_inside(classifier, chelsea, layer="relu2", topk=5)
    expected = classifier.classify(chelsea, topk=5)
    assert [s.index for s in view.prediction.scores] == [s.index for s in expected.scores]
    np.testing.assert_allclose(
        [s.probability for s in view.prediction.scores],
        [s.probability for s in expected.scores],
        rtol=1e-4,
    )
    batch = classifier.preprocess(chelsea)
    np.testing.assert_array_equal(
        view.model_input, denormalise(batch[0], classifier.spec.preprocessing)
    )
    relu2 = _output_of(classifier, "relu2", batch)
    np.testing.assert_allclose(view.activations["relu2"], relu2, atol=1e-5)
    assert view.features is not None and view.features.layer == "relu2"
    assert view.features.geometry.count == 192

    _, cam = grad_cam(classifier.model, classifier.preprocess(chelsea))
    shown = view.explanation
    assert shown is not None and shown.explanation.method == "gradcam"
    assert shown.explanation.class_index == expected.top1.index == cam.class_index
    assert shown.label == expected.top1.label
    assert shown.probability == pytest.approx(expected.top1.probability, rel=1e-4)
    # the same map, scaled by its peak at the crop's size rather than at conv5's 13x13
    np.testing.assert_allclose(shown.explanation.map, cam.heatmap / cam.heatmap.max(), atol=1e-4)
    assert shown.crop_overlay.shape == (224, 224, 3)
    assert shown.display_overlay.shape == (300, 451, 3)
    assert model_state(classifier.model) == before


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam", "guided-backprop",
                                    "guided-gradcam"])
def test_look_inside_draws_each_cheap_method(
    imagenet_like_classifier: Classifier, chelsea: Image.Image, method: str
) -> None:
    """The panel's picture is explain()'s, for the class asked, over the crop and the picture."""
    classifier = imagenet_like_classifier
    before = model_state(classifier.model)
    expected = classifier.classify(chelsea, topk=5).scores[2]  # not the top-1
    view = look_inside(classifier, chelsea, layer=None, method=method, cam_layer="relu4",
                       class_index=expected.index, opacity=0.7)
    shown = view.explanation
    assert shown is not None and shown.explanation.method == method
    assert shown.explanation.class_index == expected.index and shown.label == expected.label
    assert shown.probability == pytest.approx(expected.probability, rel=1e-4)
    direct = explain(classifier.model, classifier.preprocess(chelsea),
                     ExplainOptions(method=method, layer="relu4", class_index=expected.index))
    np.testing.assert_allclose(shown.explanation.map, direct.map, atol=1e-5)
    gradient = method.startswith("guided")
    assert shown.explanation.map.shape == ((3, 224, 224) if gradient else (224, 224))
    if method in ("guided-gradcam", "gradcam", "gradcam++", "layercam"):
        assert shown.explanation.layer == "relu4"
    np.testing.assert_array_equal(
        shown.crop_overlay,
        explanation_rgb(shown.explanation, view.model_input, colormap=EXPLAIN_COLORMAP,
                        opacity=0.7),
    )
    picture = np.asarray(chelsea)
    x0, _, x1, _ = crop_box(451, 300, classifier.spec.preprocessing)
    left, right = round(x0 * 451), round(x1 * 451)
    np.testing.assert_array_equal(shown.display_overlay[:, : left - 1], picture[:, : left - 1])
    np.testing.assert_array_equal(shown.display_overlay[:, right + 1 :], picture[:, right + 1 :])
    assert not np.array_equal(shown.display_overlay[:, left:right], picture[:, left:right])
    assert model_state(classifier.model) == before


def _output_of(classifier: Classifier, name: str, batch: torch.Tensor) -> np.ndarray:
    """One layer's output in a plain forward pass, copied by a hook of the test's own."""
    kept: list[torch.Tensor] = []
    module = find_layer(classifier.layers, name).module
    handle = module.register_forward_hook(lambda _m, _i, out: kept.append(out.detach().clone()))
    try:
        with torch.no_grad():
            classifier.model(batch)
    finally:
        handle.remove()
    return kept[0][0].numpy()


def test_look_inside_without_gradcam_or_layer(
    imagenet_like_classifier: Classifier, chelsea: Image.Image
) -> None:
    view = look_inside(imagenet_like_classifier, chelsea, layer=None, gradcam=False)
    assert view.explanation is None and view.features is None and view.activations == {}
    assert view.prediction.top1.index == imagenet_like_classifier.classify(chelsea).top1.index
    with pytest.raises(ValueError, match="no layer"):
        look_inside(imagenet_like_classifier, chelsea, layer="conv7")


def test_crop_box_finds_the_crop_in_the_picture(imagenet_like_classifier: Classifier) -> None:
    width, height = 451, 300
    # Red encodes x and green encodes y, so the crop's corners tell where they came from.
    x = np.linspace(0, 255, width)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height)[:, None].repeat(width, 1)
    picture = np.stack([x, y, np.zeros_like(x)], axis=-1).round().astype(np.uint8)
    crop = look_inside(
        imagenet_like_classifier, Image.fromarray(picture), layer=None, gradcam=False
    ).model_input
    x0, y0, x1, y1 = crop_box(width, height, imagenet_like_classifier.spec.preprocessing)
    assert crop[0, 0, 0] == pytest.approx(x0 * 255, abs=2)
    assert crop[0, -1, 0] == pytest.approx(x1 * 255, abs=2)
    assert crop[0, 0, 1] == pytest.approx(y0 * 255, abs=2)
    assert crop[-1, 0, 1] == pytest.approx(y1 * 255, abs=2)
    assert crop_box(300, 451, imagenet_like_classifier.spec.preprocessing) == (y0, x0, y1, x1)

    view = look_inside(imagenet_like_classifier, Image.fromarray(picture), layer=None, opacity=1)
    left = round(x0 * width)
    assert view.explanation is not None
    shown = view.explanation.display_overlay
    np.testing.assert_array_equal(shown[:, : left - 1], picture[:, : left - 1])
    top, bottom, right = round(y0 * height), round(y1 * height), round(x1 * width)
    np.testing.assert_array_equal(shown[: top - 1], picture[: top - 1])
    inside = shown[top + 1 : bottom - 1, left + 1 : right - 1]
    colours = _codes(explain_colormap(EXPLAIN_COLORMAP))
    assert np.isin(_codes(inside), colours).all()  # opacity 1: pure colour map


def _codes(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.reshape(-1, 3).astype(np.int64)
    return rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2]


def test_kernel_view_of_the_classifier(imagenet_like_classifier: Classifier) -> None:
    grid = kernel_view(imagenet_like_classifier)
    assert grid.geometry.count == 64 and grid.image.shape == (359, 359, 3)


# --- where the evidence is ------------------------------------------------------------------------

PATCH = 56


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth colour fields: nothing in them looks like the patch."""
    low = rng.uniform(50, 200, size=(4, 4, 3)).astype(np.float32)
    picture = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(picture + rng.normal(0, 2, size=picture.shape), 0, 255).astype(np.uint8)


def _with_patch(rng: np.random.Generator, size: int, x: int, y: int) -> np.ndarray:
    """A background with a black-and-white checkerboard patch (4 px squares) at (x, y)."""
    picture = _background(rng, size)
    rows, cols = np.mgrid[0:PATCH, 0:PATCH]
    picture[y : y + PATCH, x : x + PATCH] = (((rows // 4 + cols // 4) % 2) * 255)[..., None]
    return picture


def _patch_classifier(arch: str, size: int) -> Classifier:
    """A random AlexNet whose fc8 alone is trained to tell "patch" from "plain" pictures."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    spec = WeightsSpec(
        "patches", arch, ("plain", "patch"), Preprocessing(resize_size=size, crop_size=size), "t"
    )
    classifier = Classifier(LoadedModel(build_model(arch, num_classes=2), spec), device="cpu")
    model = classifier.model
    n = 24
    pictures = [_with_patch(rng, size, *rng.integers(0, size - PATCH, 2)) for _ in range(n)]
    pictures += [_background(rng, size) for _ in range(n)]
    batch = torch.cat([classifier.preprocess(Image.fromarray(p)) for p in pictures])
    labels = torch.tensor([1] * n + [0] * n)
    with torch.no_grad():  # the frozen part, run once
        fc7 = model.classifier[:-1](torch.flatten(model.avgpool(model.features(batch)), 1))
    fc8 = model.classifier[-1]
    optimiser = torch.optim.Adam(fc8.parameters(), lr=0.05)
    for _ in range(150):
        loss = nn.functional.cross_entropy(fc8(fc7), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    fc8.zero_grad(set_to_none=True)
    assert (fc8(fc7).argmax(1) == labels).all()
    return classifier


@pytest.mark.slow
@pytest.mark.parametrize(("arch", "size", "min_ratio", "min_hot_in_half"),
                         [("torchvision", 224, 2.0, 0.7), ("paper", 227, 1.5, 0.6)])  # fmt: skip
def test_grad_cam_finds_the_patch(
    arch: str, size: int, min_ratio: float, min_hot_in_half: float
) -> None:
    """On new pictures, the "patch" class's map peaks on the patch, wherever it is.

    Random conv features also respond weakly to the smooth background, so the map has a low floor
    everywhere; the test asks for its peak and its hot part (>= half the peak). The paper network's
    LRN spreads the map more (seed 0 gives ratios 2.3-2.8 and 1.7-1.8, hot parts 76-100% and
    64-94% in the patch's half).
    """
    classifier = _patch_classifier(arch, size)
    rng = np.random.default_rng(1)
    half = size // 2
    for i in range(6):
        left = i % 2 == 0
        x = int(rng.integers(0, half - PATCH)) if left else int(rng.integers(half, size - PATCH))
        y = int(rng.integers(0, size - PATCH))
        view = look_inside(classifier, Image.fromarray(_with_patch(rng, size, x, y)), layer=None)
        assert view.prediction.top1.label == "patch"
        assert view.explanation is not None
        heat = view.explanation.explanation.map
        on_patch = np.zeros(heat.shape, bool)
        on_patch[y : y + PATCH, x : x + PATCH] = True
        # The peak lies on the patch, give or take one conv5 cell (about 17 px).
        peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
        assert x - 17 <= peak_x < x + PATCH + 17 and y - 17 <= peak_y < y + PATCH + 17
        assert heat[on_patch].mean() >= min_ratio * heat[~on_patch].mean()
        hot = heat >= 0.5
        in_half = hot[:, :half].sum() if left else hot[:, half:].sum()
        assert in_half >= min_hot_in_half * hot.sum()
