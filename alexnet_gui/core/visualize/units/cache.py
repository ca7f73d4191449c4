"""Where the unit views keep what they computed: per weights file, on disk, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from alexnet_gui.core.models.weights import find_imagenet_weights
from alexnet_gui.paths import similarity_cache_dir


def units_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/alexnet-gui/units``: top-9 indexes and optimised images.

    A sibling of Find Similar's folder (its parent is the app's cache folder).
    """
    return similarity_cache_dir().parent / "units"


def weights_key(weights: Path | None) -> str:
    """Which weights, and which version of the file: path, mtime and size (ImageNet: its file).

    The same key the Find Similar index uses, found without loading the model.
    """
    path = find_imagenet_weights() if weights is None else Path(weights)
    if path is None:
        return "imagenet"
    if not path.is_file():
        return str(path)
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}"


def digest(*parts: object) -> str:
    """A short file name for what ``parts`` describe."""
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:24]


def save_npz(path: Path, meta: dict[str, Any], **arrays: np.ndarray) -> None:
    """Write ``arrays`` and ``meta`` (as JSON) atomically: a crash leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".unit-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as stream:
            named: dict[str, Any] = {"meta": np.array(json.dumps(meta)), **arrays}
            np.savez(stream, **named)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_npz(path: Path, meta: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """The arrays saved at ``path`` if its meta holds every item of ``meta``; else ``None``."""
    try:
        with np.load(path, allow_pickle=False) as data:
            saved = json.loads(str(data["meta"]))
            if any(saved.get(k) != v for k, v in meta.items()):
                return None
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None  # missing, damaged or another version: computed again
