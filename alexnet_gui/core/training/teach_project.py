"""A Teach project on disk: one sub-folder of image files per class, as ``train`` reads them.

The folder is the project: classes are its visible sub-folders (sorted, as
:func:`~alexnet_gui.core.training.datasets.class_folders` sorts them), examples are the image
files in them, so ``alexnet-gui train PROJECT`` and ``evaluate PROJECT`` take the same folder and
reopening it brings everything back. What Teach adds lives beside the classes and is invisible to
them: ``PROJECT/model.pt`` (the taught checkpoint) and ``PROJECT/.teach/`` (cached features).

No torch here (Pillow and numpy only), so the panel can add, rename and remove classes itself.
"""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

from alexnet_gui.core.errors import DatasetError
from alexnet_gui.core.imaging.decode import find_images, is_image_path

MODEL_FILE = "model.pt"
CACHE_DIR = ".teach"
JPEG_QUALITY = 92
#: Characters a class name may not hold: it is a folder name on every OS.
FORBIDDEN = set('/\\:*?"<>|')
_counter = itertools.count()


def check_class_name(name: str, existing: list[str] | tuple[str, ...] = ()) -> str:
    """The name stripped, or a DatasetError saying why it cannot be a class folder."""
    name = name.strip()
    if not name:
        raise DatasetError("A class needs a name.")
    if name.startswith("."):
        raise DatasetError(f"{name!r}: a class name cannot start with a dot (hidden folder).")
    bad = sorted(set(name) & FORBIDDEN)
    if bad or any(ord(c) < 32 for c in name):
        shown = " ".join(bad) or "control characters"
        raise DatasetError(f"{name!r}: a class name cannot contain {shown}.")
    if len(name) > 100:
        raise DatasetError("A class name can have at most 100 characters.")
    if name.casefold() in {e.casefold() for e in existing}:
        raise DatasetError(f"There is already a class named {name!r}.")
    return name


def list_classes(root: Path) -> list[str]:
    """The class folders of ``root``, sorted by name: the order ``train`` numbers them in."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_examples(root: Path, name: str) -> list[Path]:
    """The image files of class ``name``, as ``train`` finds them (recursively, hidden skipped)."""
    folder = root / name
    return find_images([folder]) if folder.is_dir() else []


def open_project(root: Path) -> dict[str, list[Path]]:
    """Classes and their examples; a missing or non-folder ``root`` is a DatasetError."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"Not a folder: {root}")
    root.mkdir(parents=True, exist_ok=True)
    return {name: list_examples(root, name) for name in list_classes(root)}


def add_class(root: Path, name: str) -> str:
    name = check_class_name(name, list_classes(root))
    try:
        (root / name).mkdir(parents=True)
    except OSError as exc:
        raise DatasetError(f"Cannot make the class folder {root / name}: {exc.strerror}") from exc
    return name


def rename_class(root: Path, old: str, new: str) -> str:
    others = [c for c in list_classes(root) if c != old]
    new = check_class_name(new, others)
    if new != old:
        try:
            (root / old).rename(root / new)
        except OSError as exc:
            raise DatasetError(f"Cannot rename {old!r} to {new!r}: {exc.strerror}") from exc
    return new


def remove_class(root: Path, name: str) -> None:
    """Delete the class folder and its examples (the panel asks first)."""
    folder = root / name
    if folder.is_dir() and not name.startswith(".") and folder.parent == root:
        shutil.rmtree(folder)


def unique_name(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem-TIME-N.suffix``, not taken yet: examples never overwrite each other."""
    while True:
        path = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{next(_counter):05d}{suffix}"
        if not path.exists():
            return path


def save_frame(root: Path, name: str, rgb: np.ndarray) -> Path:
    """Write an HxWx3 uint8 RGB frame as a JPEG example of class ``name``."""
    folder = root / name
    if not folder.is_dir():
        raise DatasetError(f"The class {name!r} no longer exists in {root}.")
    path = unique_name(folder, "frame", ".jpg")
    try:
        Image.fromarray(np.ascontiguousarray(rgb[..., :3])).save(
            path, "JPEG", quality=JPEG_QUALITY)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise DatasetError(f"Could not save the frame in {folder}: {exc}") from exc
    return path


def copy_file(root: Path, name: str, source: Path) -> Path:
    """Copy an image file into class ``name`` under a new name (its extension kept)."""
    if not is_image_path(source):
        raise DatasetError(f"{source.name} is not an image file (.jpg, .png, ...).")
    folder = root / name
    if not folder.is_dir():
        raise DatasetError(f"The class {name!r} no longer exists in {root}.")
    path = unique_name(folder, source.stem[:40] or "image", source.suffix.lower())
    try:
        shutil.copyfile(source, path)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise DatasetError(f"Could not copy {source.name}: {exc.strerror or exc}") from exc
    return path


def delete_example(root: Path, path: Path) -> None:
    """Delete one example file; only files inside the project's class folders."""
    path = Path(path)
    if root.resolve() not in path.resolve().parents:
        raise DatasetError(f"{path} is not an example of the project {root}.")
    path.unlink(missing_ok=True)
