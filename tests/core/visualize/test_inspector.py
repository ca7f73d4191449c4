"""The panel's inspector, called directly, as the inference worker calls it in its thread."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.visualize import explain
from alexnet_gui.core.visualize.drawing import COLORMAPS, NORMALISATIONS
from alexnet_gui.core.visualize.inside import KERNEL_NORMALISATIONS, look_inside
from alexnet_gui.core.visualize.inspector import (
    NetworkInspector,
    cam_layers,
    feature_layers,
    input_note,
    slow_passes,
)
from alexnet_gui.messages import InspectOptions
from alexnet_gui.ui.inside import explain_tab
from alexnet_gui.ui.inside.features_tab import COLORMAP_LABELS, NORMALISATION_LABELS
from alexnet_gui.ui.inside.tabs import KERNEL_NORMALISATION_LABELS


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def chelsea(chelsea_rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(chelsea_rgb)


def test_the_panels_choices_are_the_cores():
    assert set(COLORMAP_LABELS) == set(COLORMAPS)
    assert set(NORMALISATION_LABELS) == set(NORMALISATIONS)
    assert set(KERNEL_NORMALISATION_LABELS) == set(KERNEL_NORMALISATIONS)
    # the Explain tab reads the methods' names and kinds from the same torch-free module
    assert explain_tab.METHOD_LABELS is explain.METHOD_LABELS
    assert tuple(explain_tab.METHOD_LABELS) == explain.METHODS
    assert explain_tab.SLOW_METHODS is explain.SLOW_METHODS
    assert explain_tab.LAYER_METHODS is explain.LAYER_METHODS


def test_options_are_frozen_and_reach_the_views(imagenet_like_classifier, chelsea):
    chosen = InspectOptions(layer="relu2", channel=3)
    with pytest.raises(AttributeError):
        chosen.layer = "conv5"  # frozen: the worker can never see half a change
    views = NetworkInspector().look(imagenet_like_classifier, chelsea, chosen)[1]
    assert views.options is chosen and views.network.layer == "relu2"


def test_views_come_from_the_same_pass_as_the_prediction(imagenet_like_classifier, chelsea):
    inspector = NetworkInspector()
    options = InspectOptions(layer="relu3", channel=7, gradcam=True)
    prediction, views = inspector.look(imagenet_like_classifier, chelsea, options, topk=3)
    reference = look_inside(imagenet_like_classifier, chelsea, layer="relu3", topk=5)
    expected = [s.index for s in reference.prediction.scores]
    assert [s.index for s in prediction.scores] == expected[:3]
    assert len(views.network.prediction.scores) == 5  # the Grad-CAM list offers the top 5
    np.testing.assert_array_equal(views.network.features.image, reference.features.image)
    assert views.channel.channel == 7 and views.channel.image.shape == (13 * 17, 13 * 17, 3)
    assert views.gradcam is not None and views.gradcam_fresh and not views.frame
    assert views.layers == feature_layers(imagenet_like_classifier)
    assert views.layers[-1] == "pool5" and "fc6" not in views.layers
    assert views.kernels.geometry.count == 64
    assert views.input_note == input_note(imagenet_like_classifier)
    assert "224 × 224 px" in views.input_note
    again = inspector.look(imagenet_like_classifier, chelsea, options, topk=3)[1]
    assert again.kernels is views.kernels  # drawn once per model


def test_tta_is_honoured(imagenet_like_classifier, chelsea):
    prediction = NetworkInspector().look(imagenet_like_classifier, chelsea, InspectOptions(),
                                         topk=2, tta=True)[0]
    expected = imagenet_like_classifier.classify(chelsea, topk=2, tta=True)
    assert prediction.tta and [s.index for s in prediction.scores] == [
        s.index for s in expected.scores]


def test_unknown_layer_and_class_fall_back(imagenet_like_classifier, chelsea):
    inspector = NetworkInspector()
    options = InspectOptions(layer="lrn1", class_index=5000, gradcam=True)
    _, views = inspector.look(imagenet_like_classifier, chelsea, options, frame=True)
    assert views.network.layer == "conv1"  # torchvision's AlexNet has no LRN
    top1 = views.network.prediction.scores[0].index
    assert views.gradcam.explanation.class_index == top1


def test_gradcam_on_frames_is_capped_and_reblended(imagenet_like_classifier, chelsea,
                                                   chelsea_rgb):
    clock = FakeClock()
    inspector = NetworkInspector(gradcam_max_rate=4.0, clock=clock)

    def frame(options: InspectOptions, image: Image.Image = chelsea):
        return inspector.look(imagenet_like_classifier, image, options, frame=True)[1]

    first = frame(InspectOptions(gradcam=True))
    assert first.gradcam_fresh and first.frame
    clock.now += 0.1
    darker = Image.fromarray((chelsea_rgb // 2).astype(np.uint8))
    second = frame(InspectOptions(gradcam=True), darker)
    assert not second.gradcam_fresh  # within 1/4 s: the last map, over the new frame
    assert second.gradcam.explanation is first.gradcam.explanation
    assert not np.array_equal(second.gradcam.crop_overlay, first.gradcam.crop_overlay)
    clock.now += 0.2
    assert frame(InspectOptions(gradcam=True)).gradcam_fresh
    assert frame(InspectOptions(gradcam=True, class_index=3)).gradcam_fresh  # a new class: at once
    assert frame(InspectOptions(gradcam=False)).gradcam is None
    still = inspector.look(imagenet_like_classifier, chelsea, InspectOptions(gradcam=True))[1]
    assert still.gradcam_fresh and not still.frame  # a still image always gets a fresh one


def test_each_cheap_method_and_layer_reaches_the_views(imagenet_like_classifier, chelsea):
    inspector = NetworkInspector()
    for method in ("gradcam++", "layercam", "guided-backprop", "guided-gradcam"):
        options = InspectOptions(gradcam=True, method=method, explain_layer="relu3")
        views = inspector.look(imagenet_like_classifier, chelsea, options, frame=True)[1]
        assert views.gradcam_fresh and views.gradcam.explanation.method == method
        assert views.explain_estimate_s is None
    # a layer this model lacks (or no CAM may read) falls back to relu5
    options = InspectOptions(gradcam=True, explain_layer="pool2")
    views = inspector.look(imagenet_like_classifier, chelsea, options)[1]
    assert views.gradcam.explanation.layer == "relu5"
    assert cam_layers(imagenet_like_classifier) == tuple(
        f"{kind}{i}" for i in range(1, 6) for kind in ("conv", "relu"))


@pytest.mark.parametrize("method", ["scorecam", "occlusion"])
def test_slow_methods_are_left_to_the_job_with_an_estimate(imagenet_like_classifier, chelsea,
                                                          method):
    inspector = NetworkInspector()
    options = InspectOptions(gradcam=True, method=method)
    views = inspector.look(imagenet_like_classifier, chelsea, options)[1]
    assert views.gradcam is None and not views.gradcam_fresh  # never in the worker
    passes = slow_passes(imagenet_like_classifier, method, None, 32, 16)
    assert passes == (257 if method == "scorecam" else 13 * 13 + 1)
    assert views.explain_estimate_s == pytest.approx(
        passes * views.network.prediction.elapsed_ms / 1000)
    hidden = inspector.look(imagenet_like_classifier, chelsea, InspectOptions(method=method))[1]
    assert hidden.explain_estimate_s is None  # only while the Explain tab is shown
