"""Hostile image files in the core: one readable line each, never a hang or a huge allocation.

tests/core/test_imaging.py covers the basic corpus; these add what the other ways in meet.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image
from torchvision.transforms import functional as TF

from alexnet_gui.core.errors import ImageLoadError
from alexnet_gui.core.imaging.decode import find_images, image_from_bytes, load_image
from alexnet_gui.core.imaging.preprocess import (
    MAX_ASPECT,
    aspect_limited_box,
    eval_transform,
    tencrop_transform,
)
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction
from alexnet_gui.core.training.augment import train_transform
from tests.fixtures.hostile import Corpus, dds_unknown_pixel_format


def test_the_corpus_walk_finds_exactly_the_manifest(hostile_images: Corpus) -> None:
    assert sorted(find_images([hostile_images.root])) == hostile_images.all


def test_every_good_file_loads_and_every_bad_one_is_one_named_line(
    hostile_images: Corpus,
) -> None:
    for path in hostile_images.good:
        assert load_image(path).mode == "RGB", path.name
    for path in hostile_images.bad:
        with pytest.raises(ImageLoadError) as info:
            load_image(path)
        message = str(info.value)
        assert message.startswith(path.name) and "\n" not in message, message


def test_the_fuzzers_dds_header_is_a_load_error_not_not_implemented() -> None:
    with pytest.raises(ImageLoadError, match="cannot read"):
        image_from_bytes(dds_unknown_pixel_format(), "found.dds")


def test_a_pipe_named_like_an_image_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "camera-roll.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException | object] = []
    reader = threading.Thread(target=lambda: _capture(outcome, load_image, fifo), daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # unblock the reader before failing, so no thread is left behind
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=5)
        pytest.fail("load_image blocked on a FIFO")
    assert isinstance(outcome[0], ImageLoadError) and "not a regular file" in str(outcome[0])
    with pytest.raises(ImageLoadError, match="not a regular file"):
        load_image("/dev/zero")  # and a device that would stream forever


def _capture(outcome: list, fn, *args) -> None:
    try:
        outcome.append(fn(*args))
    except BaseException as exc:  # handed to the test thread
        outcome.append(exc)


@pytest.mark.parametrize("size", [(1, 60_000), (60_000, 1), (3, 50_000)])
def test_long_thin_images_are_never_resized_to_gigapixels(monkeypatch, size) -> None:
    """Resizing 1x60000 to a short side of 256 would ask for 12 GB, for a 224x224 crop.

    The resize is guarded, so a regression fails here instead of exhausting the machine.
    """
    real_resize = TF.resize

    def guarded_resize(image, size_, *args, **kwargs):
        short_side = size_ if isinstance(size_, int) else size_[0]
        wanted = short_side * max(image.size) / min(image.size)
        assert wanted <= short_side * MAX_ASPECT + 1, f"{image.size} resized to {wanted:.0f} px"
        return real_resize(image, size_, *args, **kwargs)

    monkeypatch.setattr(TF, "resize", guarded_resize)
    image = Image.new("RGB", size, (30, 90, 200))
    pre = Preprocessing()
    assert eval_transform(pre)(image).shape == (3, 224, 224)
    assert tencrop_transform(pre)(image).shape == (10, 3, 224, 224)
    for augment in ("crop", "none"):
        assert train_transform(pre, augment=augment)(image).shape == (3, 224, 224)


def test_ordinary_images_are_not_cropped_before_the_resize() -> None:
    assert aspect_limited_box(640, 480) is None
    assert aspect_limited_box(MAX_ASPECT * 100, 100) is None
    assert aspect_limited_box(1, 60_000) == (0, 29_996, 1, 30_004)
    assert aspect_limited_box(90, 10) == (5, 0, 85, 10)


class _FakeClassifier:
    """Just enough of a Classifier for FolderBatch: a name, a spec and a top-1 per image."""

    info = ModelInfo("fake", "torchvision", 1, "tests", 224, "cpu")
    spec = WeightsSpec("fake", "torchvision", ("thing",), Preprocessing(), "tests")

    def classify_prepared(self, batch, *, topk: int, tta: bool, started=None) -> list[Prediction]:
        score = (ClassScore(1, 0, "thing", 1.0),)
        return [Prediction(score, 1.0, "cpu", "fake", tta) for _ in range(len(batch))]


def test_a_decoder_bug_costs_one_row_not_the_folder(hostile_images: Corpus, monkeypatch) -> None:
    """An exception that is not ImageLoadError (a Pillow bug the fuzzer has not met yet) must
    not end the batch: the worker would never report it finished."""
    from alexnet_gui.core.inference import folder
    from alexnet_gui.messages import BatchRequest
    from alexnet_gui.workers.folder_batch import BatchControl, FolderBatch

    victim = hostile_images.good[0]
    real_decode = folder.file_tensor  # the decoder the folder table and the CLI share

    def buggy_decode(path, pre):
        if Path(path) == victim:
            raise KeyError("a bug inside a decoder")
        return real_decode(path, pre)

    monkeypatch.setattr(folder, "file_tensor", buggy_decode)
    control = BatchControl()
    control.want(1)
    batch = FolderBatch(BatchRequest(1, (hostile_images.root,), False), control)
    items = []
    while batch.summary is None:
        items += list(batch.step(_FakeClassifier(), interrupted=lambda: False))
    errors = {item.path: item.error for item in items if item.error is not None}
    assert batch.summary.total == len(items) == len(hostile_images.all)
    assert set(errors) == {victim, *hostile_images.bad}
    assert errors[victim].startswith("could not be read") and "KeyError" in errors[victim]
