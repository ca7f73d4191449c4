"""Explanations as pictures: a map blended over the model's crop, or a gradient as RGB.

A map in [0, 1] goes through a colour map (``jet``, the colour map of the CAM papers, or one of
:data:`~alexnet_gui.core.visualize.drawing.COLORMAPS`) and is alpha-blended over the crop the model
saw. A gradient image (guided backpropagation, guided Grad-CAM, a unit's deconvnet image) is shown
the usual way: centred on mid-grey and scaled by its spread, so the sign of each colour shows.
"""

from __future__ import annotations

import cv2
import numpy as np

from alexnet_gui.core.visualize.drawing import COLORMAPS, colormap, resize_bilinear, to_indices
from alexnet_gui.core.visualize.explain.base import Explanation

EXPLAIN_COLORMAPS: tuple[str, ...] = ("jet", *COLORMAPS)


def _jet() -> np.ndarray:
    """The classic jet table (dark blue, cyan, yellow, dark red) as (256, 3) uint8."""
    x = np.linspace(0.0, 1.0, 256)
    channels = [np.clip(1.5 - np.abs(4.0 * x - c), 0.0, 1.0) for c in (3.0, 2.0, 1.0)]
    lut = np.rint(np.stack(channels, axis=1) * 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


_JET = _jet()


def explain_colormap(name: str) -> np.ndarray:
    """The (256, 3) uint8 table of ``name`` (one of :data:`EXPLAIN_COLORMAPS`)."""
    return _JET if name == "jet" else colormap(name)


def gradient_rgb(gradient: np.ndarray) -> np.ndarray:
    """A 3 x H x W gradient as an H x W x 3 uint8 image: ``0.5 + 0.1 * (g - mean) / std``.

    The scaling of Springenberg et al.'s and most libraries' figures; a zero gradient is grey.
    """
    values = np.asarray(gradient, dtype=np.float32)
    if values.ndim != 3 or values.shape[0] != 3:
        raise ValueError(f"expected a 3 x H x W gradient, got shape {values.shape}")
    centred = values - values.mean()
    spread = float(centred.std())
    unit = 0.5 + (0.1 * centred / spread if spread > 0 else centred)
    return np.ascontiguousarray(to_indices(unit).transpose(1, 2, 0))


def map_rgb(values: np.ndarray, crop_rgb: np.ndarray, *, colormap: str = "jet",
            opacity: float = 0.5) -> np.ndarray:
    """An H x W map in [0, 1] coloured and blended over ``crop_rgb`` (resized to it if needed)."""
    crop = np.ascontiguousarray(crop_rgb, dtype=np.uint8)
    height, width = crop.shape[:2]
    unit = np.asarray(values, dtype=np.float32)
    if unit.shape != (height, width):
        unit = resize_bilinear(unit, height, width)
    colours = np.ascontiguousarray(explain_colormap(colormap)[to_indices(unit)])
    alpha = float(np.clip(opacity, 0.0, 1.0))
    return cv2.addWeighted(crop, 1.0 - alpha, colours, alpha, 0.0)


def explanation_rgb(explanation: Explanation, crop_rgb: np.ndarray, *, colormap: str = "jet",
                    opacity: float = 0.5) -> np.ndarray:
    """H x W x 3 uint8: the map over the model's crop, or the gradient image for gradient maps."""
    if explanation.map.ndim == 3:
        return gradient_rgb(explanation.map)
    return map_rgb(explanation.map, crop_rgb, colormap=colormap, opacity=opacity)
