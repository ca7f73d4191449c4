"""The panel's inspector, called synchronously as the worker thread would call it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.visualize.drawing import COLORMAPS, NORMALISATIONS
from alexnet_gui.core.visualize.inside import KERNEL_NORMALISATIONS, look_inside
from alexnet_gui.messages import ClassifyRequest, FileSource, FrameSource, InspectOptions
from alexnet_gui.ui.inside.features_tab import COLORMAP_LABELS, NORMALISATION_LABELS
from alexnet_gui.ui.inside.tabs import KERNEL_NORMALISATION_LABELS
from alexnet_gui.workers.inspector import NetworkInspector, OptionsHolder


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def chelsea(chelsea_rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(chelsea_rgb)


def frame_request(chelsea_rgb: np.ndarray, request_id: int = 1, **options) -> ClassifyRequest:
    return ClassifyRequest(request_id, FrameSource(chelsea_rgb, "camera"), inspect=True, **options)


def test_the_panels_choices_are_the_cores():
    assert set(COLORMAP_LABELS) == set(COLORMAPS)
    assert set(NORMALISATION_LABELS) == set(NORMALISATIONS)
    assert set(KERNEL_NORMALISATION_LABELS) == set(KERNEL_NORMALISATIONS)


def test_options_holder_hands_over_whole_frozen_options():
    holder = OptionsHolder()
    assert holder.get() == InspectOptions()
    chosen = InspectOptions(layer="relu2", channel=3)
    holder.set(chosen)
    assert holder.get() is chosen
    with pytest.raises(AttributeError):
        chosen.layer = "conv5"  # frozen: the worker can never see half a change


def test_views_come_from_the_same_pass_as_the_prediction(imagenet_like_classifier, chelsea,
                                                         chelsea_png):
    inspector = NetworkInspector()
    inspector.set_options(InspectOptions(layer="relu3", channel=7, gradcam=True))
    request = ClassifyRequest(1, FileSource(chelsea_png), topk=3, inspect=True)
    prediction, views = inspector(imagenet_like_classifier, chelsea, request)
    reference = look_inside(imagenet_like_classifier, chelsea, layer="relu3", topk=5)
    expected = [s.index for s in reference.prediction.scores]
    assert [s.index for s in prediction.scores] == expected[:3]
    assert len(views.network.prediction.scores) == 5  # the Grad-CAM list offers the top 5
    np.testing.assert_array_equal(views.network.features.image, reference.features.image)
    assert views.channel.channel == 7 and views.channel.image.shape == (13 * 17, 13 * 17, 3)
    assert views.gradcam is not None and views.gradcam_fresh and not views.frame
    assert views.layers[-1] == "pool5" and "fc6" not in views.layers
    assert views.kernels.geometry.count == 64
    again = inspector(imagenet_like_classifier, chelsea, request)[1]
    assert again.kernels is views.kernels  # drawn once per model


def test_unknown_layer_and_class_fall_back(imagenet_like_classifier, chelsea, chelsea_rgb):
    inspector = NetworkInspector()
    inspector.set_options(InspectOptions(layer="lrn1", class_index=5000, gradcam=True))
    _, views = inspector(imagenet_like_classifier, chelsea, frame_request(chelsea_rgb))
    assert views.network.layer == "conv1"  # torchvision's AlexNet has no LRN
    top1 = views.network.prediction.scores[0].index
    assert views.gradcam.gradcam.class_index == top1


def test_gradcam_on_frames_is_capped_and_reblended(imagenet_like_classifier, chelsea,
                                                   chelsea_rgb):
    clock = FakeClock()
    inspector = NetworkInspector(gradcam_max_rate=4.0, clock=clock)
    inspector.set_options(InspectOptions(gradcam=True))
    first = inspector(imagenet_like_classifier, chelsea, frame_request(chelsea_rgb, 1))[1]
    assert first.gradcam_fresh and first.frame
    clock.now += 0.1
    darker = (chelsea_rgb // 2).astype(np.uint8)
    second = inspector(imagenet_like_classifier, Image.fromarray(darker),
                       frame_request(darker, 2))[1]
    assert not second.gradcam_fresh  # within 1/4 s: the last map, over the new frame
    assert second.gradcam.gradcam is first.gradcam.gradcam
    assert not np.array_equal(second.gradcam.crop_overlay, first.gradcam.crop_overlay)
    clock.now += 0.2
    assert inspector(imagenet_like_classifier, chelsea, frame_request(chelsea_rgb, 3))[1] \
        .gradcam_fresh
    inspector.set_options(InspectOptions(gradcam=True, class_index=3))  # a new class: at once
    assert inspector(imagenet_like_classifier, chelsea, frame_request(chelsea_rgb, 4))[1] \
        .gradcam_fresh
    inspector.set_options(InspectOptions(gradcam=False))
    assert inspector(imagenet_like_classifier, chelsea, frame_request(chelsea_rgb, 5))[1] \
        .gradcam is None
