"""Teach's core: features cached once per example, a head that learns real photo crops, and a
checkpoint that the rest of the app (load_weights, classify, evaluate) takes unchanged.

The base network is the He-initialised fixed-seed AlexNet of tests/fixtures/trained.py: its fc7
features follow the image, so a linear head on them tells two photos' crops apart with margins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from alexnet_gui import cli
from alexnet_gui.core.errors import DatasetError
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.checkpoints import is_checkpoint
from alexnet_gui.core.models.weights import (
    LoadedModel,
    imagenet_spec,
    load_weights,
    read_weights_file,
)
from alexnet_gui.core.training import teach, teach_project
from tests.fixtures.images import camera_crops
from tests.fixtures.trained import he_initialised_model

PHOTOS = {"cat": data.chelsea, "coffee": data.coffee}


def crops(photo: np.ndarray, count: int, seed: int) -> list[np.ndarray]:
    """Random crops (55-90% of the short side), as a moving camera would frame the photo."""
    return camera_crops(photo, count, seed, smallest=0.55)


@pytest.fixture(scope="module")
def base() -> LoadedModel:
    return LoadedModel(he_initialised_model(1000), imagenet_spec())


@pytest.fixture(scope="module")
def extractor(base: LoadedModel) -> teach.FeatureExtractor:
    return teach.FeatureExtractor(base)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    teach_project.open_project(root)
    for index, (name, load) in enumerate(PHOTOS.items()):
        teach_project.add_class(root, name)
        for frame in crops(load(), 12, seed=index):
            teach_project.save_frame(root, name, frame)
    return root


def labelled(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    examples = teach_project.open_project(root)
    classes = sorted(examples)
    return classes, [(p, i) for i, c in enumerate(classes) for p in examples[c]]


def test_features_are_computed_once_per_example_and_kept_in_the_project(project, extractor):
    _, samples = labelled(project)
    cache = teach.FeatureCache(extractor, project)
    first = [cache.get(path) for path, _ in samples]
    assert cache.computed == len(samples) == 24
    again = [cache.get(path) for path, _ in samples]
    assert cache.computed == 24  # nothing recomputed
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert first[0].shape == (4096,) and first[0].dtype == np.float32
    cache.save()

    reopened = teach.FeatureCache(extractor, project)
    assert len(reopened) == 24
    np.testing.assert_array_equal(reopened.get(samples[0][0]), first[0])
    assert reopened.computed == 0
    # A changed file is a new example: its features are computed again.
    path = samples[0][0]
    teach_project.save_frame(project, "cat", crops(data.coffee(), 1, seed=9)[0]).replace(path)
    reopened.get(path)
    assert reopened.computed == 1
    assert (project / teach_project.CACHE_DIR).is_dir()  # the cache is no class to train
    assert teach_project.list_classes(project) == ["cat", "coffee"]


def test_head_learns_photo_crops_and_the_checkpoint_classifies_held_out_crops(
        project, base, extractor, tmp_path):
    classes, samples = labelled(project)
    cache = teach.FeatureCache(extractor)
    features = np.stack([cache.get(path) for path, _ in samples])
    seen: list[tuple[int, int]] = []
    fit = teach.train_head(features, [label for _, label in samples], len(classes),
                           progress=lambda done, total: seen.append((done, total)))
    assert fit.evaluated_on == "held-out" and fit.val_count == 4  # 20% of 12, per class
    assert fit.val_acc == 1.0 and fit.train_acc == 1.0
    assert seen[-1] == (2 * fit.steps, 2 * fit.steps)

    taught = teach.build_taught_model(base, classes, fit)
    out = teach.save_taught_model(project / "model.pt", taught, fit, project=project)
    raw = read_weights_file(out)
    assert is_checkpoint(raw)
    assert raw["metrics"]["evaluated_on"] == "held-out"
    assert raw["training"]["data_dir"] == str(project)
    loaded = load_weights(out)
    assert loaded.spec.categories == ("cat", "coffee")
    assert loaded.spec.preprocessing == base.spec.preprocessing
    classifier = Classifier(loaded, device="cpu")
    for label, (name, load) in enumerate(PHOTOS.items()):
        for crop in crops(load(), 6, seed=100 + label):  # crops it never saw
            top = classifier.classify(crop, topk=2).top1
            assert top.label == name
            assert top.probability > 0.6


def test_few_examples_are_all_used_and_said_so(extractor):
    images = crops(data.chelsea(), 3, 0) + crops(data.coffee(), 3, 1)
    features = extractor.features(images)
    fit = teach.train_head(features, [0, 0, 0, 1, 1, 1], 2, steps=100)
    assert fit.evaluated_on == "training" and fit.val_acc is None and fit.val_count == 0
    assert fit.train_acc == 1.0
    assert teach.holdout_split([0] * 9 + [1] * 20) is None


def test_the_project_folder_passes_evaluate_and_classify(project, base, extractor, capsys):
    classes, samples = labelled(project)
    cache = teach.FeatureCache(extractor)
    features = np.stack([cache.get(path) for path, _ in samples])
    fit = teach.train_head(features, [label for _, label in samples], len(classes))
    model = teach.save_taught_model(project / "model.pt",
                                    teach.build_taught_model(base, classes, fit), fit,
                                    project=project)
    assert cli.main(["evaluate", str(project), "--weights", str(model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] >= 0.95
    assert cli.main(["classify", str(project / "cat"), "--weights", str(model), "--json"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert len(answers) == 12
    assert sum(a["predictions"][0]["label"] == "cat" for a in answers) >= 11


def test_class_names_are_checked_and_examples_stay_inside_the_project(tmp_path):
    root = tmp_path / "p"
    teach_project.open_project(root)
    assert teach_project.add_class(root, "  thumbs up ") == "thumbs up"
    for bad in ("", ".hidden", "a/b", "THUMBS UP"):
        with pytest.raises(DatasetError):
            teach_project.add_class(root, bad)
    assert teach_project.rename_class(root, "thumbs up", "up") == "up"
    assert teach_project.list_classes(root) == ["up"]
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"x")
    with pytest.raises(DatasetError):
        teach_project.delete_example(root, outside)
    assert outside.exists()
    with pytest.raises(DatasetError):
        teach_project.copy_file(root, "up", tmp_path / "notes.txt")
    (root / teach_project.CACHE_DIR).mkdir()
    assert teach_project.list_classes(root) == ["up"]
    teach_project.remove_class(root, "up")
    assert teach_project.open_project(root) == {}
    assert os.listdir(root) == [teach_project.CACHE_DIR]
