"""Find Similar in the background: load a model, refresh a folder's fc7 index, search, thumbnails.

The job loads a Classifier of its own from the same weights as the main model rather than asking
the inference worker: indexing a folder is minutes of forward passes, and in the main worker it
would hold up every picture and camera frame behind it. The price is a second copy of the model
(about 240 MB) for as long as the job runs, and a second or so to load it; the index on disk
makes a repeated search in the same folder cost little more than that.

Thumbnails are decoded and shrunk here, on the job's thread, so the GUI thread only turns small
arrays into icons. Importing this module costs no torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PyQt5.QtCore import pyqtSignal

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.workers.inference_worker import ModelLoader, load_classifier
from alexnet_gui.workers.jobs import Job

log = logging.getLogger(__name__)

THUMBNAIL_SIZE = 112
DEFAULT_K = 12


@dataclass(frozen=True, eq=False)
class SimilarHit:
    """One found image: its cosine similarity and a small RGB thumbnail (``None``: unreadable)."""

    path: Path
    score: float
    thumbnail: np.ndarray | None = field(repr=False)


@dataclass(frozen=True)
class SimilarResults:
    """What a search found, and what refreshing the index cost."""

    folder: Path
    query_name: str
    hits: tuple[SimilarHit, ...]
    indexed: int
    computed: int
    reused: int
    removed: int
    failed: int
    model_name: str


class SimilarityJob(Job):
    """Index ``folder`` (refreshing its saved index) and find the images nearest to ``query``.

    ``query`` is an image file or an HxWx3 RGB array (a pasted picture, a camera frame).
    ``weights`` are the main model's (``None``: ImageNet). ``progressed`` counts the images
    embedded now (the total is those new or changed since the last index).

    Signals:
        stage_changed(str): what the job is doing, in a few words for a status line.
        progressed, completed, failed, ended: see :class:`~alexnet_gui.workers.jobs.Job`.
    """

    stage_changed = pyqtSignal(str)

    def __init__(self, folder: Path, query: Path | np.ndarray, *, weights: Path | None,
                 device: str = "auto", k: int = DEFAULT_K, query_name: str = "",
                 loader: ModelLoader | None = None) -> None:
        super().__init__()
        self.folder, self.query, self.weights = Path(folder), query, weights
        self.device, self.k = device, k
        self.query_name = query_name or (query.name if isinstance(query, Path) else "image")
        self._loader = loader or load_classifier

    def run(self) -> SimilarResults:
        from alexnet_gui.core.imaging.decode import load_image
        from alexnet_gui.core.inference import similarity

        self.stage_changed.emit("Loading the model…")
        classifier = self._loader(self.weights, self.device)
        source = self.weights if self.weights is not None else Path(classifier.spec.source)
        key = similarity.file_key(source)
        self.stage_changed.emit(f"Indexing {self.folder.name}…")
        index, stats = similarity.update_index(
            self.folder, classifier, model_key=key, on_progress=self.report,
            is_cancelled=self.is_cancelled,
        )
        if self.is_cancelled():
            raise similarity.IndexCancelled("Search cancelled.")
        self.stage_changed.emit("Searching…")
        image = load_image(self.query) if isinstance(self.query, Path) else self.query
        hits = similarity.find_similar(index, classifier, image, self.k)
        return SimilarResults(
            folder=index.folder,
            query_name=self.query_name,
            hits=tuple(SimilarHit(h.path, h.score, _thumbnail(h.path)) for h in hits),
            indexed=stats.total,
            computed=stats.computed,
            reused=stats.reused,
            removed=stats.removed,
            failed=stats.failed,
            model_name=classifier.info.name,
        )


def _thumbnail(path: Path) -> np.ndarray | None:
    """A copy at most :data:`THUMBNAIL_SIZE` px on its long side; ``None`` if it cannot be read."""
    from alexnet_gui.core.imaging.decode import load_image

    try:
        image = load_image(path)
    except UserFacingError:
        return None  # changed or removed since it was indexed
    except Exception:
        log.exception("decoding a thumbnail of %s failed", path)
        return None
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
