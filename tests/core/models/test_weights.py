"""Weights as data: finding, loading and refusing files, always with one clear message."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from alexnet_gui.core.errors import WeightsError, WeightsNotFoundError
from alexnet_gui.core.models.architectures import build_model
from alexnet_gui.core.models.checkpoints import checkpoint_dict, save_checkpoint
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.core.models.weights import imagenet_spec, load_weights, missing_imagenet_message
from tests.fixtures.models import SMALL_CLASSES


def test_imagenet_spec_is_torchvisions() -> None:
    spec = imagenet_spec()
    assert spec.url == "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
    assert spec.num_classes == 1000 and spec.categories[281] == "tabby"
    assert (spec.preprocessing.resize_size, spec.preprocessing.crop_size) == (256, 224)


def test_missing_imagenet_weights_say_how_to_get_them() -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        load_weights()
    message = str(info.value)
    assert "alexnet-gui download" in message and "alexnet-owt-7be5be79.pth" in message
    assert "\n" not in message and message == missing_imagenet_message()


def test_imagenet_weights_found_in_the_models_folder(state_dict_file: Path) -> None:
    models = Path(os.environ["ALEXNET_GUI_MODELS"])
    models.mkdir(parents=True)
    (models / "alexnet-owt-7be5be79.pth").symlink_to(state_dict_file)
    loaded = load_weights()
    assert loaded.spec.name == "ImageNet (torchvision)"
    assert loaded.spec.source.startswith(str(models))


def test_state_dict_file_loads_with_imagenet_classes(state_dict_file: Path) -> None:
    loaded = load_weights(state_dict_file)
    assert loaded.spec.arch == "torchvision" and loaded.spec.num_classes == 1000
    assert not loaded.model.training


def test_checkpoint_round_trips_its_spec(small_checkpoint_file: Path) -> None:
    loaded = load_weights(small_checkpoint_file)
    assert loaded.spec.categories == SMALL_CLASSES
    assert loaded.spec.preprocessing == Preprocessing()
    assert loaded.model.classifier[6].out_features == 3


def test_paper_checkpoint_loads(paper_checkpoint_file: Path) -> None:
    loaded = load_weights(paper_checkpoint_file)
    assert loaded.spec.arch == "paper" and loaded.spec.preprocessing.crop_size == 227


def test_state_dict_with_wrong_shapes_is_refused(tmp_path: Path) -> None:
    state = build_model("torchvision").state_dict()
    state["features.0.weight"] = torch.zeros(32, 3, 11, 11)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match="does not fit"):
        load_weights(path)


def test_checkpoint_with_wrong_class_count_is_refused(tmp_path: Path) -> None:
    spec = WeightsSpec("bad", "torchvision", ("a", "b"), Preprocessing(), "test")
    data = checkpoint_dict(build_model("torchvision", 5), spec)
    path = save_checkpoint(tmp_path / "bad.pth", data)
    with pytest.raises(WeightsError, match="2 classes"):
        load_weights(path)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "hostile.pth"
    torch.save({"state_dict": _RunsCode(marker)}, path)
    with pytest.raises(WeightsError, match="could run code"):
        load_weights(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a readable"),
        (b"this is not a checkpoint", "not a readable"),
        (os.urandom(4096), "not"),
    ],
)
def test_files_that_are_not_checkpoints(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "junk.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=match):
        load_weights(path)


def test_a_checkpoint_of_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "numbers.pth"
    torch.save({"epoch": 3, "lr": 0.1}, path)
    with pytest.raises(WeightsError, match="no AlexNet state_dict"):
        load_weights(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        load_weights(tmp_path / "nope.pth")
    with pytest.raises(WeightsError, match="Not a file"):
        load_weights(tmp_path)


def test_full_disk_while_saving_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    def no_space(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    spec = WeightsSpec("x", "torchvision", ("a",), Preprocessing(), "test")
    with pytest.raises(WeightsError, match="No space left"):
        save_checkpoint(tmp_path / "x.pth", checkpoint_dict(build_model("torchvision", 1), spec))
    assert list(tmp_path.iterdir()) == []
