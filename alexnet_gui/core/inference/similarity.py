"""Find images that look alike: AlexNet's fc7 features, an on-disk index per folder, cosine search.

The idea comes from the 2012 paper's image-retrieval figure: two images whose 4096 relu7
activations are close look alike to the network, whatever their pixels. Each image becomes its
L2-normalised relu7 vector, so cosine similarity is a dot product and 1.0 means the same vector.

The index of a folder lives in ``$XDG_CACHE_HOME/alexnet-gui/similarity/<hash>.npz``, one file per
folder and model, and records each file's mtime and size. A refresh recomputes only new and
changed files and drops removed ones: indexing a large folder once takes minutes on a CPU, the
next search in it only the time to list it. Files that cannot be decoded are counted and tried
again at the next refresh. Features are stored as float16, which halves the file and changes
scores by less than 1e-3.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from alexnet_gui.core.errors import ImageLoadError, UserFacingError
from alexnet_gui.core.imaging.decode import find_images, load_image
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.architectures import last_linear
from alexnet_gui.paths import similarity_cache_dir

log = logging.getLogger(__name__)

INDEX_VERSION = 1
FEATURE_LAYER = "relu7"
BATCH_SIZE = 16


class IndexCancelled(UserFacingError):
    """Indexing stopped on request; what was computed so far is saved for the next refresh."""


@dataclass(frozen=True)
class SimilarImage:
    """One hit: an image of the indexed folder and its cosine similarity to the query."""

    path: Path
    score: float


@dataclass(frozen=True)
class IndexStats:
    """What a refresh did: files embedded now, kept from the saved index, dropped, unreadable."""

    total: int
    computed: int
    reused: int
    removed: int
    failed: int


@dataclass(frozen=True, eq=False)
class FeatureIndex:
    """The relu7 vectors of a folder's images, with the file facts that tell when to redo one.

    ``paths`` are relative to ``folder`` (POSIX form); ``features`` is (N, D) float32, one
    L2-normalised row per path.
    """

    folder: Path
    model_key: str
    paths: tuple[str, ...]
    mtimes: np.ndarray
    sizes: np.ndarray
    features: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)

    def nearest(self, query: np.ndarray, k: int = 10) -> list[SimilarImage]:
        """The ``k`` most similar images to an L2-normalised ``query`` vector, best first."""
        if not self.paths or k <= 0:
            return []
        scores = self.features @ np.asarray(query, dtype=np.float32).reshape(-1)
        order = np.argsort(-scores, kind="stable")[:k]
        return [SimilarImage(self.folder / self.paths[i], float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        """Write atomically (a temporary file, then a rename): a crash leaves no half index."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"version": INDEX_VERSION, "folder": str(self.folder), "model": self.model_key,
                "layer": FEATURE_LAYER}
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, meta=np.array(json.dumps(meta)),
                         paths=np.array(self.paths, dtype=str), mtimes=self.mtimes,
                         sizes=self.sizes, features=self.features.astype(np.float16))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, folder: Path, model_key: str) -> FeatureIndex | None:
        """The saved index, or ``None`` if there is none or it is for another folder or model."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if (meta.get("version"), meta.get("folder"), meta.get("model")) != (
                    INDEX_VERSION, str(folder), model_key
                ):
                    return None
                return cls(folder, model_key, tuple(str(p) for p in data["paths"]),
                           data["mtimes"].astype(np.int64), data["sizes"].astype(np.int64),
                           data["features"].astype(np.float32))
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None  # missing, damaged or from an older version: rebuilt from scratch


def index_path(folder: Path, model_key: str) -> Path:
    """Where the index of ``folder`` for the model ``model_key`` is kept."""
    digest = hashlib.sha256(f"{Path(folder).resolve()}\n{model_key}".encode()).hexdigest()
    return similarity_cache_dir() / f"{digest[:24]}.npz"


def file_key(path: Path | None) -> str:
    """A model key for weights read from ``path``: where, and which version of the file."""
    if path is None or not Path(path).is_file():
        return str(path)
    stat = Path(path).stat()
    return f"{Path(path).resolve()}:{stat.st_mtime_ns}:{stat.st_size}"


def embed(classifier: Classifier, images: Sequence[Image.Image]) -> np.ndarray:
    """(N, D) float32 L2-normalised relu7 vectors of ``images``, in one forward pass.

    The vector is what enters fc8 (relu7; dropout is off in eval mode), taken by a hook on fc8
    so that both architectures give the same layer. An all-zero vector stays zero.
    """
    if not images:
        return np.zeros((0, last_linear(classifier.model).in_features), dtype=np.float32)
    captured: list[torch.Tensor] = []

    def keep_input(_module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        captured.append(inputs[0].detach().float().cpu())

    batch = torch.cat([classifier.preprocess(image) for image in images]).to(classifier.device)
    handle = last_linear(classifier.model).register_forward_pre_hook(keep_input)
    try:
        with torch.inference_mode():
            classifier.model(batch)
    finally:
        handle.remove()
    vectors = captured[0].numpy()
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


#: A file still to index: its name in the index, its path, mtime (ns) and size.
Todo = tuple[str, Path, int, int]


def decode_batch(
        todo: Sequence[Todo]) -> tuple[list[Image.Image], list[tuple[str, int, int]], int]:
    """The pictures of ``todo`` that decode, their (name, mtime, size), and how many did not.

    A file that cannot be read costs that file, never the whole index (nor does a decoder bug).
    """
    images, names, failed = [], [], 0
    for name, path, mtime, size in todo:
        try:
            images.append(load_image(path))
            names.append((name, mtime, size))
        except ImageLoadError:
            failed += 1
        except Exception:
            log.exception("decoding %s for an index failed", path)
            failed += 1
    return images, names, failed


def folder_images(folder: Path | str) -> tuple[Path, list[Path]]:
    """``folder`` resolved, and its images; an index of nothing is refused.

    Raises:
        UserFacingError: ``folder`` is not a folder or holds no images.
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise UserFacingError(f"Not a folder: {folder}")
    files = find_images([folder])
    if not files:
        raise UserFacingError(f"No images in {folder}.")
    return folder, files


class SavedFiles(Protocol):
    """What an index saved of each file it holds: its name, mtime (ns) and size."""

    @property
    def paths(self) -> Sequence[str]: ...
    @property
    def mtimes(self) -> np.ndarray: ...
    @property
    def sizes(self) -> np.ndarray: ...


def unchanged_files(folder: Path, files: Sequence[Path], saved: SavedFiles | None
                    ) -> tuple[dict[str, int], list[Todo], int]:
    """Which of ``files`` the ``saved`` index still holds unchanged (same mtime and size; name
    -> its row there), which must be computed, and how many it holds that are gone."""
    if saved is None:
        saved_paths: Sequence[str] = ()
        saved_mtimes = saved_sizes = np.zeros(0, dtype=np.int64)
    else:
        saved_paths, saved_mtimes, saved_sizes = saved.paths, saved.mtimes, saved.sizes
    old = {p: i for i, p in enumerate(saved_paths)}
    kept: dict[str, int] = {}
    todo: list[Todo] = []
    for path in files:
        try:
            name, stat = path.relative_to(folder).as_posix(), path.stat()
        except OSError:
            continue  # removed while the folder was listed
        i = old.get(name)
        if i is not None and (
            int(saved_mtimes[i]), int(saved_sizes[i])) == (stat.st_mtime_ns, stat.st_size):
            kept[name] = i
        else:
            todo.append((name, path, stat.st_mtime_ns, stat.st_size))
    current = {name for name, *_ in todo} | set(kept)
    return kept, todo, len(set(saved_paths) - current)


def update_index(
    folder: Path | str,
    classifier: Classifier,
    *,
    model_key: str,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> tuple[FeatureIndex, IndexStats]:
    """Load the saved index of ``folder``, bring it up to date, save it; return it and the counts.

    Raises:
        UserFacingError: ``folder`` is not a folder or holds no images.
        IndexCancelled: ``is_cancelled`` said stop; the images done so far are saved.
    """
    folder, files = folder_images(folder)
    target = index_path(folder, model_key)
    saved = FeatureIndex.load(target, folder, model_key)
    kept, todo, removed = unchanged_files(folder, files, saved)
    rows: dict[str, tuple[int, int, np.ndarray]] = {} if saved is None else {
        name: (int(saved.mtimes[i]), int(saved.sizes[i]), saved.features[i])
        for name, i in kept.items()}
    reused = len(rows)
    failed = 0
    for start in range(0, len(todo), batch_size):
        if is_cancelled is not None and is_cancelled():
            _build(folder, model_key, rows, files).save(target)
            raise IndexCancelled(f"Indexing cancelled after {start} of {len(todo)} new images.")
        images, names, unreadable = decode_batch(todo[start : start + batch_size])
        failed += unreadable
        for (name, mtime, size), vector in zip(names, embed(classifier, images), strict=True):
            rows[name] = (mtime, size, vector)
        if on_progress is not None:
            on_progress(min(start + batch_size, len(todo)), len(todo))
    index = _build(folder, model_key, rows, files)
    if todo or removed or saved is None:
        index.save(target)
    return index, IndexStats(len(index), len(todo) - failed, reused, removed, failed)


def query_vector(classifier: Classifier, image: Image.Image | np.ndarray) -> np.ndarray:
    """The normalised relu7 vector of one image (an array goes through Pillow, as files do)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    return embed(classifier, [image])[0]


def find_similar(
    index: FeatureIndex, classifier: Classifier, image: Image.Image | np.ndarray, k: int = 10
) -> list[SimilarImage]:
    """The ``k`` images of ``index`` nearest to ``image`` (cosine similarity of relu7)."""
    return index.nearest(query_vector(classifier, image), k)


def _build(folder: Path, model_key: str, rows: dict[str, tuple[int, int, np.ndarray]],
           order: Iterable[Path]) -> FeatureIndex:
    """An index of ``rows`` in the folder's listing order."""
    names = [n for n in (p.relative_to(folder).as_posix() for p in order) if n in rows]
    width = next((len(v) for _, _, v in rows.values()), 0)
    features = (np.stack([rows[n][2] for n in names]).astype(np.float32) if names
                else np.zeros((0, width), dtype=np.float32))
    return FeatureIndex(folder, model_key, tuple(names),
                        np.array([rows[n][0] for n in names], dtype=np.int64),
                        np.array([rows[n][1] for n in names], dtype=np.int64), features)
