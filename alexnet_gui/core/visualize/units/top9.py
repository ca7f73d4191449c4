"""A unit's top-9 image patches in a folder, from an index of every image's per-unit maxima.

Indexing a folder for one layer runs each image through the network once and keeps, per unit,
the strongest activation and where in the map it was (fc units: their value). Any unit of that
layer then has its top 9 at once: sort a column, crop each image's receptive field around the
recorded position, from the model's own input crop (resize and centre crop, as the classifier
does). The index lives in :func:`~.cache.units_cache_dir` per (weights, folder, layer) and is
refreshed like Find Similar's: only new or changed files cost a forward pass.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.imaging.numpy_preprocess import crop_pixels
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.inference.similarity import (
    IndexCancelled,
    IndexStats,
    decode_batch,
    folder_images,
    unchanged_files,
)
from alexnet_gui.core.models.architectures import named_layers
from alexnet_gui.core.models.spec import Preprocessing
from alexnet_gui.core.visualize.units.cache import digest, load_npz, save_npz, units_cache_dir
from alexnet_gui.core.visualize.units.fields import ReceptiveField, receptive_fields

log = logging.getLogger(__name__)

INDEX_VERSION = 1
BATCH_SIZE = 16
TOP_K = 9


@dataclass(frozen=True)
class TopHit:
    """One image's strongest response of a unit: its value and map position (row, column)."""

    path: Path
    value: float
    y: int
    x: int


@dataclass(frozen=True, eq=False)
class UnitIndex:
    """Per image (row) and unit (column) of ``layer``: the maximum and its flat map position.

    ``paths`` are relative to ``folder``; ``positions`` are ``y * map_width + x``; ``field`` is
    the layer's receptive field in the model that made the index.
    """

    folder: Path
    layer: str
    paths: tuple[str, ...]
    mtimes: np.ndarray
    sizes: np.ndarray
    maxima: np.ndarray
    positions: np.ndarray
    map_width: int
    preprocessing: Preprocessing
    field: ReceptiveField

    @property
    def units(self) -> int:
        return int(self.maxima.shape[1])

    def top(self, unit: int, k: int = TOP_K) -> list[TopHit]:
        """The ``k`` images where ``unit`` responds most, strongest first."""
        if not 0 <= unit < self.units:
            raise UserFacingError(f"{self.layer} has units 0 to {self.units - 1}, not {unit}.")
        column = self.maxima[:, unit]
        order = np.argsort(-column, kind="stable")[:k]
        hits = []
        for i in order:
            y, x = divmod(int(self.positions[i, unit]), self.map_width)
            hits.append(TopHit(self.folder / self.paths[i], float(column[i]), y, x))
        return hits


def index_file(folder: Path, model_key: str, layer: str) -> Path:
    return units_cache_dir() / f"top-{digest(Path(folder).resolve(), model_key, layer)}.npz"


def layer_maxima(classifier: Classifier, images: Sequence[Image.Image],
                 layer: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(N, C) maxima, (N, C) flat positions and the map width of ``layer``, in one pass.

    Taken inside the hook: a ReLU with ``inplace=True`` would overwrite a conv's output later.
    """
    module = next((n.module for n in named_layers(classifier.model) if n.name == layer), None)
    if module is None:
        raise UserFacingError(f"This model has no layer {layer}.")
    kept: list[tuple[torch.Tensor, torch.Tensor, int]] = []

    def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
        values = output.detach().float()
        if values.ndim == 4:
            best, where = values.flatten(2).max(dim=2)
            kept.append((best.cpu(), where.cpu(), int(values.shape[3])))
        else:
            kept.append((values.cpu(), torch.zeros_like(values, dtype=torch.long).cpu(), 1))

    batch = torch.cat([classifier.preprocess(image) for image in images]).to(classifier.device)
    handle = module.register_forward_hook(hook)
    try:
        with torch.inference_mode():
            classifier.model(batch)
    finally:
        handle.remove()
    best, where, width = kept[0]
    return best.numpy().astype(np.float32), where.numpy().astype(np.int32), width


def _load(target: Path, folder: Path, model_key: str, layer: str) -> UnitIndex | None:
    meta = {"version": INDEX_VERSION, "folder": str(folder), "model": model_key, "layer": layer}
    data = load_npz(target, meta)
    if data is None:
        return None
    saved = json.loads(str(data["meta"]))
    pre = Preprocessing(resize_size=saved["resize"], crop_size=saved["crop"],
                        interpolation=saved["interpolation"])
    return UnitIndex(folder, layer, tuple(str(p) for p in data["paths"]),
                     data["mtimes"].astype(np.int64), data["sizes"].astype(np.int64),
                     data["maxima"].astype(np.float32), data["positions"].astype(np.int32),
                     int(saved["width"]), pre,
                     ReceptiveField(saved["field_size"], saved["field_stride"],
                                    saved["field_start"]))


def _save(index: UnitIndex, target: Path, model_key: str) -> None:
    pre = index.preprocessing
    meta = {"version": INDEX_VERSION, "folder": str(index.folder), "model": model_key,
            "layer": index.layer, "width": index.map_width, "resize": pre.resize_size,
            "crop": pre.crop_size, "interpolation": pre.interpolation,
            "field_size": index.field.size, "field_stride": index.field.stride,
            "field_start": index.field.start}
    save_npz(target, meta, paths=np.array(index.paths, dtype=str), mtimes=index.mtimes,
             sizes=index.sizes, maxima=index.maxima, positions=index.positions)


Row = tuple[int, int, np.ndarray, np.ndarray]  # mtime, size, maxima, positions


def update_unit_index(
    folder: Path | str,
    get_classifier: Callable[[], Classifier],
    *,
    model_key: str,
    layer: str,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> tuple[UnitIndex, IndexStats]:
    """Bring the saved index of ``folder`` for ``layer`` up to date, save it, return it.

    ``get_classifier`` is called only when some image needs a forward pass, so an index that is
    up to date answers without loading a model.

    Raises:
        UserFacingError: not a folder, no images, or no image could be read.
        IndexCancelled: ``is_cancelled`` said stop; the images done so far are saved.
    """
    folder, files = folder_images(folder)
    target = index_file(folder, model_key, layer)
    saved = _load(target, folder, model_key, layer)
    kept, todo, removed = unchanged_files(folder, files, saved)
    rows: dict[str, Row] = {} if saved is None else {
        name: (int(saved.mtimes[i]), int(saved.sizes[i]), saved.maxima[i], saved.positions[i])
        for name, i in kept.items()}
    reused = len(rows)
    width = 1 if saved is None else saved.map_width
    pre = Preprocessing() if saved is None else saved.preprocessing
    field = ReceptiveField(None, 1, 0.0) if saved is None else saved.field
    failed = 0
    for start in range(0, len(todo), batch_size):
        if is_cancelled is not None and is_cancelled():
            if rows:
                _save(_build(folder, layer, rows, files, width, pre, field), target, model_key)
            raise IndexCancelled(f"Indexing cancelled after {start} of {len(todo)} images.")
        images, names, unreadable = decode_batch(todo[start : start + batch_size])
        failed += unreadable
        if images:  # a model only for pictures that decode: a broken file is retried each time
            classifier = get_classifier()
            fields = receptive_fields(classifier.model)
            if layer not in fields:
                raise UserFacingError(f"This model has no layer {layer}.")
            pre, field = classifier.spec.preprocessing, fields[layer]
            best, where, width = layer_maxima(classifier, images, layer)
            for j, (name, mtime, size) in enumerate(names):
                rows[name] = (mtime, size, best[j], where[j])
        if on_progress is not None:
            on_progress(min(start + batch_size, len(todo)), len(todo))
    if not rows:
        raise UserFacingError(f"None of the images in {folder} could be read.")
    index = _build(folder, layer, rows, files, width, pre, field)
    if todo or removed or saved is None:
        _save(index, target, model_key)
    return index, IndexStats(len(index.paths), len(todo) - failed, reused, removed, failed)


def _build(folder: Path, layer: str, rows: dict[str, Row], order: Sequence[Path], width: int,
           pre: Preprocessing, field: ReceptiveField) -> UnitIndex:
    names = [n for n in (p.relative_to(folder).as_posix() for p in order) if n in rows]
    return UnitIndex(folder, layer, tuple(names),
                     np.array([rows[n][0] for n in names], dtype=np.int64),
                     np.array([rows[n][1] for n in names], dtype=np.int64),
                     np.stack([rows[n][2] for n in names]).astype(np.float32),
                     np.stack([rows[n][3] for n in names]).astype(np.int32), width, pre, field)


def model_input_crop(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """The picture the model sees, before normalising: resized, centre-cropped, HxWx3 uint8."""
    return np.ascontiguousarray(crop_pixels(image, pre))


def top_patches(index: UnitIndex, unit: int, k: int = TOP_K) -> list[tuple[TopHit, np.ndarray]]:
    """The top ``k`` hits of ``unit`` and each one's receptive field cut from its input crop.

    Hits whose file can no longer be read are skipped.
    """
    patches = []
    for hit in index.top(unit, k):
        try:
            crop = model_input_crop(load_image(hit.path), index.preprocessing)
        except UserFacingError:
            continue  # changed or removed since it was indexed
        left, top, right, bottom = index.field.box(hit.y, hit.x, crop.shape[0])
        patches.append((hit, np.ascontiguousarray(crop[top:bottom, left:right])))
    return patches


def patch_grid(patches: Sequence[np.ndarray], *, tile: int = 96, gap: int = 3,
               columns: int = 3) -> np.ndarray:
    """Patches resized to ``tile`` px squares in rows of ``columns``, on a dark background."""
    count = max(1, len(patches))
    rows = (count + columns - 1) // columns
    height, width = rows * tile + (rows - 1) * gap, columns * tile + (columns - 1) * gap
    grid = np.full((height, width, 3), 32, dtype=np.uint8)
    for i, patch in enumerate(patches):
        y, x = (i // columns) * (tile + gap), (i % columns) * (tile + gap)
        small = Image.fromarray(patch).resize((tile, tile), Image.Resampling.BILINEAR)
        grid[y : y + tile, x : x + tile] = np.asarray(small, dtype=np.uint8)
    return grid
