"""Explanations as pictures: maps blended over the crop, gradients as grey-centred RGB."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet_gui.core.visualize.explain import Explanation, explanation_rgb, gradient_rgb
from alexnet_gui.core.visualize.explain.rendering import explain_colormap


def crop() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)


def test_jet_runs_from_dark_blue_through_green_to_dark_red() -> None:
    lut = explain_colormap("jet")
    assert lut.shape == (256, 3) and not lut.flags.writeable
    assert tuple(lut[0]) == (0, 0, 128) and tuple(lut[255]) == (128, 0, 0)
    assert lut[128, 1] == 255 and abs(int(lut[128, 0]) - int(lut[128, 2])) <= 4  # pale green
    with pytest.raises(ValueError, match="unknown colour map"):
        explain_colormap("rainbow")


def test_map_over_the_crop() -> None:
    values = np.zeros((6, 8), np.float32)
    values[2, 3] = 1.0
    explanation = Explanation("gradcam", "relu5", 0, 0.5, values)
    np.testing.assert_array_equal(explanation_rgb(explanation, crop(), opacity=0.0), crop())
    pure = explanation_rgb(explanation, crop(), opacity=1.0)
    assert tuple(pure[2, 3]) == (128, 0, 0) and tuple(pure[0, 0]) == (0, 0, 128)
    half = explanation_rgb(explanation, crop(), colormap="gray", opacity=0.5).astype(int)
    np.testing.assert_allclose(half[0, 0], crop()[0, 0] / 2, atol=1)
    # A map at another size is resized to the crop.
    small = Explanation("occlusion", None, 0, 0.5, np.ones((3, 4), np.float32))
    assert explanation_rgb(small, crop(), opacity=1.0).shape == (6, 8, 3)


def test_gradient_images_are_centred_on_grey() -> None:
    assert (gradient_rgb(np.zeros((3, 4, 5), np.float32)) == 128).all()
    gradient = np.zeros((3, 4, 5), np.float32)
    gradient[0, 1, 1], gradient[2, 3, 4] = 1e-4, -1e-4  # tiny raw values still show
    rgb = gradient_rgb(gradient)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert rgb[1, 1, 0] > 200 and rgb[3, 4, 2] < 60 and rgb[0, 0, 0] == 128
    as_explanation = Explanation("guided-backprop", None, 0, 0.5, gradient)
    np.testing.assert_array_equal(explanation_rgb(as_explanation, crop()), rgb)
    with pytest.raises(ValueError, match="3 x H x W"):
        gradient_rgb(np.zeros((4, 5), np.float32))
