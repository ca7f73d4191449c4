"""``alexnet-gui explain`` as a user runs it: files written, JSON fields, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.cli import main
from alexnet_gui.core.models.checkpoints import checkpoint_dict, save_checkpoint
from alexnet_gui.core.models.weights import LoadedModel
from alexnet_gui.core.visualize.explain import GRADIENT_METHODS, LAYER_METHODS, METHODS
from tests.fixtures.models import SMALL_CLASSES

#: Cheaper settings for the slow methods: the same code paths, fewer forward passes.
CHEAP = {"scorecam": ["--layer", "relu1"], "occlusion": ["--patch", "112", "--stride", "112"]}


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory,
                       photo_classifier: LoadedModel) -> Path:  # fmt: skip
    """The trained photo classifier as an alexnet-gui checkpoint (it carries its class names)."""
    path = tmp_path_factory.mktemp("weights") / "photos.pth"
    save_checkpoint(path, checkpoint_dict(photo_classifier.model, photo_classifier.spec))
    return path


def explain_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    status = main(["explain", *argv, "--json", "--device", "cpu"])
    out, err = capsys.readouterr()
    return status, json.loads(out), err


@pytest.mark.parametrize("method", METHODS)
def test_every_method_writes_its_png_and_npy(
    method: str, chelsea_png: Path, small_checkpoint_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    status, entries, err = explain_json(
        capsys, str(chelsea_png), "--weights", str(small_checkpoint_file), "--method", method,
        "--out", str(tmp_path / "maps"), *CHEAP.get(method, []),
    )  # fmt: skip
    assert status == 0 and err == ""
    (entry,) = entries
    assert set(entry) == {"path", "method", "layer", "class_index", "label", "score", "png", "npy"}
    assert entry["path"] == str(chelsea_png) and entry["method"] == method
    assert entry["label"] == SMALL_CLASSES[entry["class_index"]] and 0 < entry["score"] <= 1
    default_layer = "relu1" if method == "scorecam" else "relu5"
    assert entry["layer"] == (default_layer if method in LAYER_METHODS else None)
    assert entry["png"] == str(tmp_path / "maps" / f"chelsea.{method}.png")
    assert entry["npy"] == str(tmp_path / "maps" / f"chelsea.{method}.npy")
    with Image.open(entry["png"]) as png:
        assert png.size == (224, 224) and png.mode == "RGB"
    values = np.load(entry["npy"])
    assert values.dtype == np.float32
    if method in GRADIENT_METHODS:
        assert values.shape == (3, 224, 224) and np.abs(values).max() > 0
    else:
        assert values.shape == (224, 224) and values.min() >= 0 and values.max() == 1.0


def test_a_folder_and_a_missing_file_exit_1_and_the_rest_are_explained(
    photo_folder: Path, trained_checkpoint: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    missing = tmp_path / "nope.jpg"
    status, entries, err = explain_json(
        capsys, str(photo_folder), str(missing), "--weights", str(trained_checkpoint),
        "--out", str(tmp_path), "--class", "2",
    )  # fmt: skip
    assert status == 1
    by_name = {Path(e["path"]).name: e for e in entries}
    assert set(by_name) == {"astronaut.jpg", "broken.jpg", "chelsea.jpg", "coffee.jpg",
                            "rocket.jpg", "nope.jpg"}  # fmt: skip
    assert by_name["nope.jpg"]["error"] == "no such file or folder"
    assert err.strip().splitlines() == [
        f"{photo_folder / 'broken.jpg'}: {by_name['broken.jpg']['error']}",
        f"{missing}: no such file or folder",
    ]
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        entry = by_name[f"{name}.jpg"]
        assert entry["class_index"] == 2 and Path(entry["png"]).is_file()
    maps = [np.load(by_name[f"{n}.jpg"]["npy"]) for n in ("chelsea", "rocket")]
    assert not np.allclose(*maps)


def test_rank_picks_each_images_class_and_classes_get_different_maps(
    chelsea_png: Path, trained_checkpoint: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert main(["classify", str(chelsea_png), "--weights", str(trained_checkpoint), "--json",
                 "--topk", "2"]) == 0  # fmt: skip
    top = [p["index"] for p in json.loads(capsys.readouterr().out)[0]["predictions"]]
    maps = []
    for rank, out in ((1, "first"), (2, "second")):
        status, (entry,), _ = explain_json(
            capsys, str(chelsea_png), "--weights", str(trained_checkpoint),
            "--rank", str(rank), "--out", str(tmp_path / out), "--method", "layercam",
        )  # fmt: skip
        assert status == 0 and entry["class_index"] == top[rank - 1]
        maps.append(np.load(entry["npy"]))
    assert entries_differ(*maps)


def entries_differ(first: np.ndarray, second: np.ndarray) -> bool:
    return not np.allclose(first, second, atol=1e-3)


def test_table_output_and_same_names_kept_apart(
    chelsea_rgb: np.ndarray, small_checkpoint_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(chelsea_rgb).save(tmp_path / folder / "cat.png")
    out = tmp_path / "out"
    status = main(["explain", str(tmp_path / "a" / "cat.png"), str(tmp_path / "b" / "cat.png"),
                   "--weights", str(small_checkpoint_file), "--out", str(out)])  # fmt: skip
    text, err = capsys.readouterr()
    assert status == 0 and err == ""
    assert sorted(p.name for p in out.iterdir()) == [
        "cat-2.gradcam.npy", "cat-2.gradcam.png", "cat.gradcam.npy", "cat.gradcam.png"]
    lines = text.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'a' / 'cat.png'}: Grad-CAM at relu5 of ")
    assert lines[1].strip() == str(out / "cat.gradcam.png")


@pytest.mark.parametrize("argv", [
    ["--class", "3"],  # the checkpoint has 3 classes
    ["--rank", "4"],
    ["--layer", "conv9"],
    ["--class", "-1"],
    ["--class", "1", "--rank", "1"],
    ["--patch", "8"],  # occlusion only
    ["--method", "occlusion", "--layer", "relu5"],
    ["--method", "saliency"],
])  # fmt: skip
def test_usage_errors_exit_2(
    argv: list[str], chelsea_png: Path, small_checkpoint_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main(["explain", str(chelsea_png), "--weights", str(small_checkpoint_file),
              "--out", str(tmp_path), *argv])  # fmt: skip
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.png"))


def test_a_layer_without_maps_is_an_error_per_image(
    chelsea_png: Path, small_checkpoint_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    status, (entry,), err = explain_json(
        capsys, str(chelsea_png), "--weights", str(small_checkpoint_file), "--layer", "fc6",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert status == 1 and "no spatial maps" in entry["error"]
    assert err.strip() == f"{chelsea_png}: {entry['error']}"


def test_missing_weights_and_unreadable_inputs(
    chelsea_png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(chelsea_png), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "alexnet-gui download" in err
    # Nothing readable: no model is loaded, so missing weights do not matter.
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    assert main(["explain", str(broken), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{broken}: ") and len(err.strip().splitlines()) == 1


def test_hostile_weights_are_one_line(
    hostile_checkpoints: tuple[list, Path], chelsea_png: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    checkpoints, marker = hostile_checkpoints
    for checkpoint in checkpoints:
        status = main(["explain", str(chelsea_png), "--weights", str(checkpoint.path),
                       "--out", str(tmp_path), "--device", "cpu"])  # fmt: skip
        out, err = capsys.readouterr()
        assert status == 1 and out == "", checkpoint.path.name
        assert err.count("\n") == 1 and err.startswith("alexnet-gui explain: "), err
        assert checkpoint.expect in err
    assert not marker.exists(), "a checkpoint ran code"
    assert not list(tmp_path.glob("*.png"))
