"""The unit view's backprop image: its unit, its layer's strongest units, a capped rate."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.visualize.units.live import UnitTracker, layer_activations, unit_image
from alexnet_gui.messages import InspectOptions
from tests.fixtures.tiny import tiny_classifier


@pytest.fixture(scope="module")
def classifier():
    return tiny_classifier()


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_image_and_the_strongest_units(classifier, picture):
    batch = classifier.preprocess(picture)
    values = layer_activations(classifier, batch, "relu1")
    result = unit_image(classifier, picture, layer="relu1", unit=2, mode="guided")
    assert result.image is not None and result.image.shape == (224, 224, 3)
    assert result.count == 4 and result.value == pytest.approx(float(values[2]))
    assert [i for i, _ in result.top] == list(np.argsort(-values, kind="stable"))
    fc = unit_image(classifier, picture, layer="fc6", unit=1, mode="deconv")
    assert fc.count == 3 and fc.image is not None
    missing = unit_image(classifier, picture, layer="fc6", unit=3, mode="guided")
    assert missing.image is None and "0 to 2" in missing.message
    with pytest.raises(ValueError, match="mode"):
        unit_image(classifier, picture, layer="fc6", unit=1, mode="occlusion")


def test_frames_are_capped_and_stills_are_always_fresh(classifier, picture):
    clock = Clock()
    tracker = UnitTracker(max_rate=4.0, clock=clock)
    options = InspectOptions(unit_layer="relu1", unit=1, unit_mode="guided")
    assert tracker.view(classifier, picture, InspectOptions()) is None  # no unit selected
    first = tracker.view(classifier, picture, options, frame=True)
    assert first is not None and first.fresh
    clock.now += 0.1
    again = tracker.view(classifier, picture, options, frame=True)
    assert again is not None and not again.fresh and again.image is first.image
    still = tracker.view(classifier, picture, options, frame=False)
    assert still is not None and still.fresh
    clock.now += 0.1
    other = tracker.view(classifier, picture, InspectOptions(unit_layer="relu1", unit=0),
                         frame=True)
    assert other is not None and other.fresh and other.unit == 0  # another unit: at once
    clock.now += 0.3
    later = tracker.view(classifier, picture, InspectOptions(unit_layer="relu1", unit=0),
                         frame=True)
    assert later is not None and later.fresh
    assert tracker.view(classifier, picture, InspectOptions(unit_layer="conv5", unit=0)) is None
