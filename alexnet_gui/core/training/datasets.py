"""Class-per-folder image datasets for training and evaluation, checked before any work starts.

A data folder is either ImageFolder-style (``DATA/cat/*.jpg``, ``DATA/dog/*.jpg``), split into
train and validation sets by a seeded, per-class shuffle, or holds ``train/`` and ``val/`` folders
of that shape. Every problem a user can fix (no folder, one class, an empty class) is reported as
one :class:`DatasetError` line before a model is built. Images are decoded with Pillow through
:func:`load_image`; a file that fails to decode is skipped and counted, not fatal, because one
broken download should not end an hour of training.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from alexnet_gui.core.errors import DatasetError, ImageLoadError
from alexnet_gui.core.imaging.decode import find_images, load_image

TRAIN_DIR = "train"
VAL_DIR = "val"
Sample = tuple[Path, int]
Batch = tuple[torch.Tensor | None, torch.Tensor, list[int]]


@dataclass(frozen=True)
class DatasetSplit:
    """The class names (sorted folder names) and the samples of each split."""

    root: Path
    classes: tuple[str, ...]
    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    layout: str  # "split" (train/ and val/ folders) or "folders" (split by val_split)


def class_folders(root: Path) -> list[Path]:
    """The visible sub-folders of ``root``, sorted by name (their names are the classes)."""
    return sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def scan_classes(root: Path, *, min_classes: int = 2) -> tuple[tuple[str, ...], list[Sample]]:
    """Class names and (image, class index) pairs of a class-per-folder tree.

    Raises:
        DatasetError: the folder is missing, has too few class folders, or a class has no images.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"Data folder not found: {root}")
    if not root.is_dir():
        raise DatasetError(f"Not a folder: {root}")
    folders = class_folders(root)
    if not folders:
        found = "image files but " if find_images([root]) else ""
        raise DatasetError(
            f"{root} has {found}no class folders: put each class's images in a folder of its "
            f"own ({root}/cat/*.jpg, {root}/dog/*.jpg)."
        )
    samples: list[Sample] = []
    empty: list[str] = []
    for index, folder in enumerate(folders):
        images = find_images([folder])
        if not images:
            empty.append(folder.name)
        samples.extend((path, index) for path in images)
    if not samples:
        raise DatasetError(f"No image files in {root} (looked for .jpg, .png, .bmp and others).")
    if empty:
        raise DatasetError(f"Class folder(s) with no images in {root}: {', '.join(empty)}.")
    if len(folders) < min_classes:
        raise DatasetError(
            f"{root} has only one class folder ({folders[0].name}); a classifier needs at least "
            "two classes."
        )
    return tuple(f.name for f in folders), samples


def split_samples(
    samples: Sequence[Sample], *, val_split: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """A seeded, per-class split, so every class is in both sets when it has two images or more."""
    if not 0.0 <= val_split < 1.0:
        raise DatasetError(f"The validation share must be in [0, 1), not {val_split}.")
    by_class: dict[int, list[Sample]] = {}
    for sample in sorted(samples):
        by_class.setdefault(sample[1], []).append(sample)
    rng = random.Random(seed)
    train: list[Sample] = []
    val: list[Sample] = []
    for label in sorted(by_class):
        group = by_class[label]
        rng.shuffle(group)
        count = round(len(group) * val_split) if val_split > 0 else 0
        if val_split > 0 and len(group) >= 2:
            count = min(max(count, 1), len(group) - 1)
        val.extend(group[:count])
        train.extend(group[count:])
    return train, val


def discover_dataset(root: Path | str, *, val_split: float = 0.2, seed: int = 0) -> DatasetSplit:
    """The training and validation samples of a data folder in either layout."""
    root = Path(root)
    train_root, val_root = root / TRAIN_DIR, root / VAL_DIR
    if train_root.is_dir() and val_root.is_dir():
        classes, train = scan_classes(train_root)
        val = match_classes(val_root, classes, owner=f"{train_root.name}/")
        return DatasetSplit(root, classes, tuple(train), tuple(val), "split")
    if train_root.is_dir() and not val_root.exists():
        root = train_root
    classes, samples = scan_classes(root)
    train, val = split_samples(samples, val_split=val_split, seed=seed)
    return DatasetSplit(root, classes, tuple(train), tuple(val), "folders")


def match_classes(
    root: Path, known: Sequence[str], *, min_classes: int = 1, owner: str = "the model"
) -> list[Sample]:
    """Samples of ``root`` labelled by their index in ``known``; a folder not in it is an error.

    ``owner`` names whose classes ``known`` are, for the message.
    """
    names, samples = scan_classes(root, min_classes=min_classes)
    index_of = {name: i for i, name in enumerate(known)}
    unknown = [name for name in names if name not in index_of]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        listed = ", ".join(list(known)[:10]) + (" ..." if len(known) > 10 else "")
        raise DatasetError(
            f"Class folder(s) in {root} that {owner} does not know: {shown}. Its classes: {listed}."
        )
    return [(path, index_of[names[label]]) for path, label in samples]


def evaluation_root(root: Path | str) -> Path:
    """The folder to evaluate: ``val/`` of a train/val layout, else the folder itself."""
    root = Path(root)
    if (root / TRAIN_DIR).is_dir() and (root / VAL_DIR).is_dir():
        return root / VAL_DIR
    return root


class ImageSamples(Dataset):
    """(tensor, label, index) per sample; the tensor is ``None`` for a file that fails to decode.

    With ``augment_seed``, the random transform of each sample is seeded from that seed,
    :attr:`epoch` and the sample's index, so its crop, flip and colour shift are the same
    whichever process or DataLoader worker loads it: one process and N under ``torchrun`` see
    the same images, and a resumed epoch the same as an unbroken one.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable[[Image.Image], torch.Tensor],
        *,
        augment_seed: int | None = None,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.augment_seed = augment_seed
        self.epoch = 0  # set by the training loop before each epoch's DataLoader iterator

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | None, int, int]:
        path, label = self.samples[index]
        try:
            image = load_image(path)
        except ImageLoadError:
            return None, label, index
        if self.augment_seed is None:
            return self.transform(image), label, index
        # torchvision's random transforms draw from the CPU generator; forking it keeps the
        # caller's stream (dropout, when workers=0) independent of which files were loaded.
        seed = (self.augment_seed * 1_000_003 + self.epoch) * 10_000_019 + index
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed % 2**63)
            return self.transform(image), label, index


def collate_skipping(items: list[tuple[torch.Tensor | None, int, int]]) -> Batch:
    """Stack the decoded images; report the indices of the broken ones instead of failing.

    Indices travel with the batch rather than in a counter on the dataset, because DataLoader
    workers are separate processes whose counters the caller never sees.
    """
    good = [(tensor, label) for tensor, label, _ in items if tensor is not None]
    broken = [index for tensor, _, index in items if tensor is None]
    if not good:
        return None, torch.empty(0, dtype=torch.long), broken
    images = torch.stack([tensor for tensor, _ in good])
    labels = torch.tensor([label for _, label in good], dtype=torch.long)
    return images, labels, broken
