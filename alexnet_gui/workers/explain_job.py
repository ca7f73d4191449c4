"""Score-CAM and occlusion for one still picture, in the background, with progress and cancel.

Both take one forward pass per channel or patch position (257 and 170 for relu5 and 32-pixel
patches at stride 16): seconds on a CPU, far too long for the inference worker, which would hold
up every picture behind them. So, like Find Similar, the job loads a Classifier of its own from
the main model's weights, decodes the picture from its source as the worker does, and runs
:func:`~alexnet_gui.core.visualize.explain.explain` in batches, reporting progress and polling
for cancel between them. A :class:`ModelShelf` keeps the last job's model for the next one, so
explaining picture after picture loads the weights once (the price: one more copy of the model,
about 240 MB, kept until the weights change). Importing this module costs no torch.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import pyqtSignal

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.messages import InspectOptions, Source
from alexnet_gui.workers.inference_worker import ModelLoader, load_classifier
from alexnet_gui.workers.jobs import Job
from alexnet_gui.workers.picture_loader import decode_source

if TYPE_CHECKING:

    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.visualize.inside import ExplanationView


class ExplainCancelled(UserFacingError):
    """The user cancelled the explanation; nothing is shown."""


@dataclass(frozen=True, eq=False)
class ExplainResult:
    """A finished explanation, the key it was asked with, and what it cost."""

    key: object
    view: ExplanationView = field(repr=False)
    elapsed_s: float
    passes: int


class ModelShelf:
    """The model the last job used, lent to the next job for the same weights and device.

    Lent, not shared: a job takes it off the shelf and puts it back when done, so two jobs (a
    cancelled one still finishing its batch, and its successor) never run the same model at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: tuple[tuple[object, ...], Classifier] | None = None

    def take(self, weights: Path | None, device: str, loader: ModelLoader) -> Classifier:
        key = _model_key(weights, device)
        with self._lock:
            kept, self._kept = self._kept, None
        if kept is not None and kept[0] == key:
            return kept[1]
        return loader(weights, device)

    def put_back(self, weights: Path | None, device: str, classifier: Classifier) -> None:
        with self._lock:
            self._kept = (_model_key(weights, device), classifier)

    def clear(self) -> None:
        with self._lock:
            self._kept = None


def _model_key(weights: Path | None, device: str) -> tuple[object, ...]:
    """The weights file as it is now (a retrained file at the same path is another model)."""
    if weights is None:
        return (None, device)
    try:
        stat = weights.stat()
    except OSError:
        return (str(weights), device)
    return (str(weights), stat.st_mtime_ns, stat.st_size, device)


class ExplainJob(Job):
    """Explain one picture with a slow method; ``completed`` gets an :class:`ExplainResult`.

    ``options`` are the panel's (method, layer, class, patch, stride, opacity); ``key`` comes
    back in the result, so the panel can drop an answer for a picture no longer shown.

    Signals:
        stage_changed(str): what the job is doing, in a few words for the tab.
        progressed, completed, failed, ended: see :class:`~alexnet_gui.workers.jobs.Job`.
    """

    stage_changed = pyqtSignal(str)

    def __init__(self, source: Source, options: InspectOptions, *, weights: Path | None,
                 device: str = "auto", key: object = None, loader: ModelLoader | None = None,
                 shelf: ModelShelf | None = None, batch_size: int = 32) -> None:
        super().__init__()
        self.source, self.options, self.weights = source, options, weights
        self.device, self.key, self.batch_size = device, key, batch_size
        self._loader = loader or load_classifier
        self._shelf = shelf or ModelShelf()

    def run(self) -> ExplainResult:
        from alexnet_gui.core.imaging.decode import display_array
        from alexnet_gui.core.imaging.preprocess import denormalise
        from alexnet_gui.core.visualize.explain import ExplainOptions, ExplanationCancelled, explain
        from alexnet_gui.core.visualize.inside import crop_box, explanation_view

        start = time.perf_counter()
        self.stage_changed.emit("Loading the model…")
        classifier = self._shelf.take(self.weights, self.device, self._loader)
        try:
            image = decode_source(self.source)
            categories = classifier.spec.categories
            class_index = self.options.class_index
            if class_index is not None and not 0 <= class_index < len(categories):
                raise UserFacingError(f"This model has no class {class_index}.")
            batch = classifier.preprocess(image).to(classifier.device)
            options = ExplainOptions(
                method=self.options.method, layer=self.options.explain_layer,
                class_index=class_index, occlusion_patch=self.options.occlusion_patch,
                occlusion_stride=self.options.occlusion_stride, batch_size=self.batch_size)
            self.stage_changed.emit("Explaining…")
            passes = [0]

            def progress(done: int, total: int) -> None:
                passes[0] = total
                self.report(done, total)

            try:
                explanation = explain(classifier.model, batch, options, progress=progress,
                                      cancelled=self.is_cancelled)
            except ExplanationCancelled:
                raise ExplainCancelled("Cancelled.") from None
            except ValueError as exc:  # a layer or patch this model cannot take
                raise UserFacingError(str(exc)) from exc
            view = explanation_view(
                explanation,
                categories=categories,
                model_input=denormalise(batch[0].detach(), classifier.spec.preprocessing),
                display=display_array(image),
                box=crop_box(image.width, image.height, classifier.spec.preprocessing),
                opacity=self.options.opacity,
            )
        finally:
            self._shelf.put_back(self.weights, self.device, classifier)
        return ExplainResult(self.key, view, time.perf_counter() - start, passes[0])
