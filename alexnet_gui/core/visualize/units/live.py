"""The selected unit's deconvnet or guided-backprop image for the picture on screen.

:class:`UnitTracker` belongs to the inference worker's inspector and runs in its thread. On
still pictures it computes every time; on camera or video frames at most
:data:`UNIT_MAX_RATE` times a second, and in between it hands back the last image (a backward
pass through AlexNet costs about two forward passes). Each fresh image also brings the layer's
strongest units for this picture, so the unit view can list them.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.architectures import named_layers
from alexnet_gui.core.visualize.explain import BACKPROP_MODES, gradient_rgb, unit_backprop
from alexnet_gui.messages import InspectOptions, UnitImage

#: Unit images per second at most on frames.
UNIT_MAX_RATE = 4.0
#: How many of the layer's strongest units each result lists.
TOP_UNITS = 5


class _LayerValues:
    """A forward hook keeping each unit's value for one image: a channel's maximum, or a neuron."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.values: np.ndarray | None = None
        self._handle = module.register_forward_hook(self._hook)

    def _hook(self, _module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
        values = output.detach().float()[0]
        values = values.flatten(1).max(dim=1).values if values.ndim == 3 else values
        self.values = values.cpu().numpy()

    def remove(self) -> None:
        self._handle.remove()


def _module(classifier: Classifier, layer: str) -> torch.nn.Module:
    module = next((n.module for n in named_layers(classifier.model) if n.name == layer), None)
    if module is None:
        raise ValueError(f"no layer {layer!r}")
    return module


def layer_activations(classifier: Classifier, batch: torch.Tensor, layer: str) -> np.ndarray:
    """Each unit's value for one image: a channel's maximum over its map, or a fc neuron."""
    probe = _LayerValues(_module(classifier, layer))
    try:
        with torch.inference_mode():
            classifier.model(batch)
    finally:
        probe.remove()
    assert probe.values is not None
    return probe.values


def unit_image(classifier: Classifier, image: Image.Image, *, layer: str, unit: int,
               mode: str) -> UnitImage:
    """The unit's backprop image for ``image``, with its value and the layer's strongest units.

    The layer's values are read by a hook during the backprop's own forward pass: no extra pass.
    """
    if mode not in BACKPROP_MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {BACKPROP_MODES}")
    batch = classifier.preprocess(image).to(classifier.device)
    probe = _LayerValues(_module(classifier, layer))
    try:
        gradient = unit_backprop(classifier.model, batch, layer=layer, unit=unit, mode=mode)
    except ValueError:
        if probe.values is None or 0 <= unit < probe.values.shape[0]:
            raise
        gradient = None  # a unit the layer does not have: say so, with the ones it has
    finally:
        probe.remove()
    values = probe.values
    assert values is not None
    count = int(values.shape[0])
    if gradient is None:
        return UnitImage(layer, unit, mode, None, 0.0, count, _top(values),
                         message=f"{layer} has units 0 to {count - 1}")
    return UnitImage(layer, unit, mode, gradient_rgb(gradient), float(values[unit]), count,
                     _top(values))


def _top(values: np.ndarray) -> tuple[tuple[int, float], ...]:
    order = np.argsort(-values, kind="stable")[:TOP_UNITS]
    return tuple((int(i), float(values[i])) for i in order)


class UnitTracker:
    """Unit images for one inspector: fresh on stills, rate-capped on frames.

    Args:
        max_rate: images per second at most on frames (0: every frame).
        clock: seconds, for the cap (tests pass a fake one).
    """

    def __init__(self, *, max_rate: float = UNIT_MAX_RATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._clock = clock
        self._last: UnitImage | None = None
        self._last_time = -1e18
        self._last_of: weakref.ref[Classifier] | None = None

    def view(self, classifier: Classifier, image: Image.Image, options: InspectOptions, *,
             frame: bool = False) -> UnitImage | None:
        """The image of ``options``' unit, or ``None`` when no unit is selected."""
        if options.unit_layer is None or options.unit is None:
            return None
        key = (options.unit_layer, options.unit, options.unit_mode)
        last = self._last
        now = self._clock()
        same_model = self._last_of is not None and self._last_of() is classifier
        if (frame and last is not None and same_model
                and (last.layer, last.unit, last.mode) == key
                and now - self._last_time < self._interval):
            return last.stale()
        layers = {n.name for n in named_layers(classifier.model)}
        if options.unit_layer not in layers:
            return None  # a layer of the previous model
        result = unit_image(classifier, image, layer=options.unit_layer, unit=options.unit,
                            mode=options.unit_mode)
        self._last, self._last_time = result, now
        self._last_of = weakref.ref(classifier)
        return result
