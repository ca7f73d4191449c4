"""core.inference.similarity: relu7 vectors, the on-disk index and its refresh, cosine search.

A random AlexNet at input size 64 is enough: the tests check that an image finds itself, that a
near-copy scores close to 1, and that a refresh recomputes exactly the files that changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.inference import similarity
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.core.models.weights import LoadedModel
from tests.fixtures.datasets import write_colour_dataset
from tests.fixtures.models import random_model


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    spec = WeightsSpec(name="random-64", arch="torchvision", categories=("a", "b"),
                       preprocessing=Preprocessing.for_input_size(64), source="tests")
    return Classifier(LoadedModel(random_model(num_classes=2), spec), device="cpu")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_colour_dataset(tmp_path / "pictures", ("red", "green", "blue"), per_class=3)


def test_vectors_are_unit_length_and_batching_does_not_change_them(classifier, folder):
    images = [Image.open(p).convert("RGB") for p in sorted(folder.rglob("*.png"))[:4]]
    together = similarity.embed(classifier, images)
    alone = np.stack([similarity.embed(classifier, [image])[0] for image in images])
    assert together.shape == (4, 4096) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_an_image_finds_itself_then_its_near_copy(classifier, folder):
    original = folder / "green" / "001.png"
    pixels = np.asarray(Image.open(original), dtype=np.int16)
    noisy = np.clip(pixels + np.random.default_rng(0).integers(-3, 4, pixels.shape), 0, 255)
    Image.fromarray(noisy.astype(np.uint8)).save(folder / "green" / "copy.png")
    index, stats = similarity.update_index(folder, classifier, model_key="m")
    assert (stats.total, stats.computed, stats.reused) == (10, 10, 0)
    hits = similarity.find_similar(index, classifier, Image.open(original).convert("RGB"), k=3)
    assert hits[0].path == original.resolve() and hits[0].score == pytest.approx(1.0, abs=2e-3)
    assert hits[1].path.name == "copy.png" and hits[1].score > 0.98
    as_array = similarity.find_similar(index, classifier, np.asarray(Image.open(original)), k=1)
    assert as_array[0].path == original.resolve()


def test_the_index_is_reused_refreshed_and_pruned(classifier, folder, isolated_environment,
                                                  monkeypatch):
    first, stats = similarity.update_index(folder, classifier, model_key="m")
    saved = similarity.index_path(folder, "m")
    assert stats.computed == 9 and saved.is_file()
    assert saved.parent == isolated_environment / "cache" / "alexnet-gui" / "similarity"

    embedded: list[int] = []
    original_embed = similarity.embed

    def counting_embed(model, images):
        embedded.append(len(images))
        return original_embed(model, images)

    monkeypatch.setattr(similarity, "embed", counting_embed)
    again, stats = similarity.update_index(folder, classifier, model_key="m")
    assert (stats.computed, stats.reused, stats.removed) == (0, 9, 0) and embedded == []
    np.testing.assert_allclose(again.features, first.features, atol=1e-3)  # float16 on disk

    changed = folder / "red" / "000.png"
    Image.open(folder / "blue" / "000.png").save(changed)
    os.utime(changed, ns=(1_000_000_000, 1_000_000_000))
    (folder / "green" / "002.png").unlink()
    shutil.copy(folder / "blue" / "001.png", folder / "blue" / "new.png")
    (folder / "red" / "broken.png").write_bytes(b"not a png")
    progress: list[tuple[int, int]] = []
    refreshed, stats = similarity.update_index(
        folder, classifier, model_key="m", on_progress=lambda d, t: progress.append((d, t))
    )
    monkeypatch.undo()
    assert (stats.computed, stats.reused, stats.removed, stats.failed) == (2, 7, 1, 1)
    assert sum(embedded) == 2 and progress[-1] == (3, 3)
    assert "green/002.png" not in refreshed.paths and "blue/new.png" in refreshed.paths
    hits = similarity.find_similar(refreshed, classifier, Image.open(changed).convert("RGB"), k=1)
    assert hits[0].path.name in ("000.png", "new.png") and hits[0].score > 0.99
    _, stats = similarity.update_index(folder, classifier, model_key="other")
    assert stats.reused == 0 and similarity.index_path(folder, "other") != saved


def test_cancelling_keeps_what_was_done(classifier, folder):
    calls = iter([False, True])
    with pytest.raises(similarity.IndexCancelled):
        similarity.update_index(folder, classifier, model_key="m", batch_size=4,
                                is_cancelled=lambda: next(calls))
    _, stats = similarity.update_index(folder, classifier, model_key="m", batch_size=4)
    assert (stats.reused, stats.computed) == (4, 5)


def test_a_folder_without_images_is_one_line(classifier, tmp_path):
    with pytest.raises(UserFacingError, match="No images"):
        similarity.update_index(tmp_path, classifier, model_key="m")
    with pytest.raises(UserFacingError, match="Not a folder"):
        similarity.update_index(tmp_path / "missing", classifier, model_key="m")
