"""The unit view's background work: a folder's top-9 patches of a unit, and its optimised image.

Like Find Similar, each job loads a Classifier of its own from the main model's weights (the
inference worker keeps serving pictures and frames meanwhile), and only when it has work for it:
a top-9 request whose folder index for the layer is up to date, or an optimised image already in
the cache, is answered from disk without a model. Importing this module costs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import pyqtSignal

from alexnet_gui.workers.inference_worker import ModelLoader, load_classifier
from alexnet_gui.workers.jobs import Job

if TYPE_CHECKING:
    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.visualize.units.maximise import MaximisedUnit, MaximiseSettings


@dataclass(frozen=True)
class TopPatch:
    """One of a unit's top images: the file, the unit's maximum in it, where (map row, column)."""

    path: Path
    value: float
    y: int
    x: int


@dataclass(frozen=True, eq=False)
class TopPatches:
    """A unit's top patches drawn as one grid image (best first, row by row), and the counts."""

    folder: Path
    layer: str
    unit: int
    grid: np.ndarray = field(repr=False)
    patches: tuple[TopPatch, ...]
    field_size: int | None
    indexed: int
    computed: int
    failed: int


class _ModelJob(Job):
    """A job that loads the main model's weights once, the first time it needs them."""

    stage_changed = pyqtSignal(str)

    def __init__(self, *, weights: Path | None, device: str,
                 loader: ModelLoader | None) -> None:
        super().__init__()
        self.weights, self.device = weights, device
        self._loader = loader or load_classifier
        self._classifier: Classifier | None = None

    def classifier(self) -> Classifier:
        if self._classifier is None:
            self.stage_changed.emit("Loading the model…")
            self._classifier = self._loader(self.weights, self.device)
        return self._classifier

    def model_key(self) -> str:
        from alexnet_gui.core.visualize.units.cache import weights_key

        return weights_key(self.weights)


class TopPatchesJob(_ModelJob):
    """Index ``folder`` for ``layer`` (refreshing its saved index), then crop ``unit``'s top 9.

    Signals:
        stage_changed(str): what the job is doing, in a few words.
        progressed, completed, failed, ended: see :class:`~alexnet_gui.workers.jobs.Job`.
    """

    def __init__(self, folder: Path, layer: str, unit: int, *, weights: Path | None,
                 device: str = "auto", loader: ModelLoader | None = None) -> None:
        super().__init__(weights=weights, device=device, loader=loader)
        self.folder, self.layer, self.unit = Path(folder), layer, unit

    def run(self) -> TopPatches:
        from alexnet_gui.core.visualize.units import top9

        self.stage_changed.emit(f"Indexing {self.folder.name} for {self.layer}…")
        index, stats = top9.update_unit_index(
            self.folder, self.classifier, model_key=self.model_key(), layer=self.layer,
            on_progress=self.report, is_cancelled=self.is_cancelled)
        found = top9.top_patches(index, self.unit)
        return TopPatches(
            folder=index.folder, layer=self.layer, unit=self.unit,
            grid=top9.patch_grid([patch for _, patch in found]),
            patches=tuple(TopPatch(h.path, h.value, h.y, h.x) for h, _ in found),
            field_size=index.field.size, indexed=stats.total, computed=stats.computed,
            failed=stats.failed)


class MaximiseJob(_ModelJob):
    """Optimise an input for one unit (or read it from the cache); ``completed`` gets a
    :class:`~alexnet_gui.core.visualize.units.maximise.MaximisedUnit`, or ``None`` when
    ``cache_only`` and there is none in the cache. ``steps`` overrides the settings' steps.

    Signals:
        stage_changed(str): what the job is doing, in a few words.
        progressed, completed, failed, ended: see :class:`~alexnet_gui.workers.jobs.Job`.
    """

    def __init__(self, layer: str, unit: int, *, weights: Path | None, device: str = "auto",
                 settings: MaximiseSettings | None = None, steps: int | None = None,
                 cache_only: bool = False, loader: ModelLoader | None = None) -> None:
        super().__init__(weights=weights, device=device, loader=loader)
        self.layer, self.unit, self.settings = layer, unit, settings
        self.steps, self.cache_only = steps, cache_only

    def run(self) -> MaximisedUnit | None:
        import dataclasses

        from alexnet_gui.core.visualize.units import maximise

        settings = self.settings or maximise.MaximiseSettings()
        if self.steps is not None:
            settings = dataclasses.replace(settings, steps=self.steps)
        key = self.model_key()
        cached = maximise.load_maximised(key, self.layer, self.unit, settings)
        if cached is not None or self.cache_only:
            return cached
        classifier = self.classifier()
        self.stage_changed.emit(f"Optimising an image for {self.layer} unit {self.unit}…")
        result = maximise.maximise_unit(
            classifier.model, classifier.spec.preprocessing, layer=self.layer, unit=self.unit,
            settings=settings, device=classifier.device, progress=self.report,
            cancelled=self.is_cancelled)
        maximise.save_maximised(key, result)
        return result
