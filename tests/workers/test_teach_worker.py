"""The Teach worker, called synchronously: examples saved with features and thumbnails, reopened
projects, deletion, weights missing, and a trained model saved in the train checkpoint format."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from alexnet_gui.core.errors import WeightsNotFoundError
from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec, load_weights
from alexnet_gui.core.training import teach_project
from alexnet_gui.workers.teach_worker import TeachWorker
from tests.fixtures.images import camera_crops
from tests.fixtures.trained import he_initialised_model


@pytest.fixture(scope="module")
def base() -> LoadedModel:
    return LoadedModel(he_initialised_model(1000), imagenet_spec())


def record(worker: TeachWorker) -> dict[str, list]:
    seen: dict[str, list] = {"opened": [], "added": [], "trained": [], "failed": [],
                             "missing": [], "progress": []}
    worker.project_opened.connect(lambda root, examples: seen["opened"].append(examples))
    worker.example_added.connect(seen["added"].append)
    worker.trained.connect(seen["trained"].append)
    worker.failed.connect(seen["failed"].append)
    worker.weights_missing.connect(seen["missing"].append)
    worker.progressed.connect(lambda done, total: seen["progress"].append((done, total)))
    return seen


def test_examples_are_saved_reopened_and_trained(qtbot, base, tmp_path: Path):
    root = tmp_path / "p"
    worker = TeachWorker(lambda: base)
    seen = record(worker)
    worker.open_project(root)
    assert seen["opened"] == [()]
    for name in ("cat", "coffee"):
        teach_project.add_class(root, name)
    for frame in camera_crops(data.chelsea(), 11, 0):
        worker.add_frame("cat", frame)
    photo = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(photo)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    worker.add_files("coffee", [photo, broken])
    for frame in camera_crops(data.coffee(), 10, 1):
        worker.add_frame("coffee", frame)
    assert len(seen["added"]) == 22 and len(seen["failed"]) == 1  # the broken file, said so
    assert not any(p.name.startswith("broken") for p in (root / "coffee").iterdir())
    first = seen["added"][0]
    assert first.path.is_file() and first.thumbnail.shape[2] == 3
    assert max(first.thumbnail.shape[:2]) <= 96
    assert worker._cache is not None and worker._cache.computed == 22

    teach_project.delete_example(root, first.path)
    worker.forget(first.path)
    worker.flush()  # as when the record button is released
    reopened = TeachWorker(lambda: base)
    seen2 = record(reopened)
    reopened.open_project(root)
    assert len(seen2["opened"][0]) == 21
    assert reopened._cache is not None and reopened._cache.computed == 0  # cached on disk

    reopened.train()
    assert seen2["failed"] == []
    result = seen2["trained"][0]
    assert result.classes == ("cat", "coffee") and result.examples == 21
    assert result.evaluated_on == "held-out" and result.val_acc == 1.0
    assert seen2["progress"][-1][0] == seen2["progress"][-1][1]
    assert load_weights(result.checkpoint).spec.categories == ("cat", "coffee")


def test_missing_weights_are_reported_and_recording_still_saves(qtbot, tmp_path: Path):
    def missing() -> LoadedModel:
        raise WeightsNotFoundError("ImageNet weights not found.")

    root = tmp_path / "p"
    worker = TeachWorker(missing)
    seen = record(worker)
    assert worker.check_base() is False  # the panel opening asks: no project needed
    assert seen["missing"] == ["ImageNet weights not found."]
    worker.open_project(root)
    teach_project.add_class(root, "a")
    worker.add_frame("a", camera_crops(data.chelsea(), 1, 0)[0])
    worker.train()
    assert seen["missing"] and len(seen["added"]) == 1 and seen["trained"] == []
