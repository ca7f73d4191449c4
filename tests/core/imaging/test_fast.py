"""The fast pre-processing paths (frames and plain JPEGs) against the still-image path, and the
folder loop built on them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_gui.core.errors import ImageLoadError
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.imaging.fast import file_tensor, frame_tensor
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.inference.folder import classify_paths
from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec
from tests.fixtures.models import random_model


def _probabilities(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.softmax(model(batch), dim=1)


def test_fast_paths_stay_within_one_percent_of_the_still_image_path(
    photo_folder: Path, tmp_path: Path
) -> None:
    model, pre = random_model(num_classes=10, seed=1), imagenet_spec().preprocessing
    reference, fast = [], []
    for name in ("chelsea", "coffee", "astronaut", "rocket"):
        path = photo_folder / f"{name}.jpg"
        still = eval_transform(pre)(Image.open(path).convert("RGB"))
        reference += [still, still]
        fast += [file_tensor(path, pre), frame_tensor(np.asarray(Image.open(path)), pre)]
    gap = _probabilities(model, torch.stack(reference)) - _probabilities(model, torch.stack(fast))
    assert float(gap.abs().max()) <= 0.01

    rotated = tmp_path / "rotated.jpg"  # EXIF orientation 6: both paths must turn it upright
    photo = Image.open(photo_folder / "chelsea.jpg")
    exif = photo.getexif()
    exif[0x0112] = 6
    photo.save(rotated, exif=exif, quality=90)
    upright = eval_transform(pre)(load_image(rotated))
    assert float((file_tensor(rotated, pre) - upright).abs().max()) < 0.1

    png = tmp_path / "chelsea.png"
    Image.open(photo_folder / "chelsea.jpg").save(png)
    assert torch.equal(file_tensor(png, pre), eval_transform(pre)(Image.open(png).convert("RGB")))
    with pytest.raises(ImageLoadError):
        file_tensor(photo_folder / "broken.jpg", pre)


def test_classify_paths_keeps_order_and_reports_errors(
    photo_folder: Path, photo_classifier: LoadedModel
) -> None:
    classifier = Classifier(photo_classifier, device="cpu")  # trained: its top-1 is no near-tie
    paths = sorted(photo_folder.iterdir())
    rows = list(classify_paths(classifier, paths, topk=2, batch_size=2))
    assert [row[0] for row in rows] == paths
    assert [row[2] is not None for row in rows] == [p.name == "broken.jpg" for p in paths]
    chelsea = next(row[1] for row in rows if row[0].name == "chelsea.jpg")
    still = classifier.classify(Image.open(photo_folder / "chelsea.jpg"), topk=2)
    assert chelsea.top1.index == still.top1.index
    assert abs(chelsea.top1.probability - still.top1.probability) <= 0.01


def test_fast_path_keeps_the_still_paths_guards(tmp_path: Path) -> None:
    pre = imagenet_spec().preprocessing
    thin = tmp_path / "thin.jpg"  # 40:1: only a centred part of the long side is resized
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 480, 3), np.uint8)).save(thin)
    reference = eval_transform(pre)(load_image(thin))
    assert float((file_tensor(thin, pre) - reference).abs().max()) < 0.1
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "camera.jpg"
        os.mkfifo(fifo)  # reading it would block forever
        with pytest.raises(ImageLoadError, match="not a regular file"):
            file_tensor(fifo, pre)


def test_a_truncated_jpeg_is_an_error_on_the_fast_path_too(photo_folder: Path, tmp_path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes((photo_folder / "chelsea.jpg").read_bytes()[:-2000])
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_image(cut)
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        file_tensor(cut, imagenet_spec().preprocessing)
