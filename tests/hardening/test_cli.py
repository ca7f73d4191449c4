"""The command line against hostile images, weights and data folders.

Every bad input is one line on stderr (``PATH: message`` for images, ``alexnet-gui CMD: message``
for the rest), never a traceback; good inputs are still classified; the exit status says which.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from alexnet_gui.cli import main
from tests.fixtures.datasets import write_colour_dataset
from tests.fixtures.hostile import Corpus, HostileCheckpoint
from tests.fixtures.models import SMALL_CLASSES

TINY_RUN = ["--from", "scratch", "--input-size", "64", "--batch-size", "8", "--device", "cpu",
            "--epochs", "1"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_classify_over_the_whole_corpus(hostile_images: Corpus, small_checkpoint_file: Path,
                                        tmp_path: Path, capsys) -> None:
    """A folder of good and bad images plus paths only a command line names: exit 1, one
    stderr line per bad input, every good image classified, valid JSON for all of them."""
    album = tmp_path / "album.jpg"  # a folder with an image's name is still a folder
    album.mkdir()
    Image.new("RGB", (40, 30), (9, 99, 199)).save(album / "in-album.png")
    png_named_txt = tmp_path / "picture.txt"  # named explicitly, so read whatever its name
    Image.new("RGB", (40, 30), (199, 99, 9)).save(png_named_txt, format="PNG")
    dangling = tmp_path / "dangling.png"
    dangling.symlink_to(tmp_path / "nowhere.png")
    extras = [album, png_named_txt, dangling, tmp_path / "missing.jpg"]

    status, out, err = run(["classify", str(hostile_images.root), *map(str, extras),
                            "--weights", str(small_checkpoint_file), "--json", "--topk", "2",
                            "--device", "cpu"], capsys)
    entries = {Path(entry["path"]): entry for entry in json.loads(out)}
    good = [*hostile_images.good, album / "in-album.png", png_named_txt]
    bad = [*hostile_images.bad, dangling, tmp_path / "missing.jpg"]
    assert status == 1
    assert sorted(entries) == sorted(good + bad)
    for path in good:
        labels = [p["label"] for p in entries[path].get("predictions", [])]
        assert len(labels) == 2 and set(labels) <= set(SMALL_CLASSES), (path.name, entries[path])
    assert sorted(err.splitlines()) == sorted(f"{path}: {entries[path]['error']}" for path in bad)
    for path in bad:
        if path.exists():
            # the line starts with the path: the reason does not repeat the name
            assert not entries[path]["error"].startswith(path.name), entries[path]


def test_classify_table_mode_keeps_going_after_bad_files(hostile_images: Corpus,
                                                         state_dict_file: Path, capsys) -> None:
    status, out, err = run(["classify", str(hostile_images.root), "--weights",
                            str(state_dict_file), "--topk", "1", "--device", "cpu"], capsys)
    assert status == 1
    assert len(err.splitlines()) == len(hostile_images.bad)
    headers = [line for line in out.splitlines() if not line.startswith(" ")]
    assert len(headers) == len(hostile_images.good)


COMMANDS = {
    "classify": lambda weights, data, out: ["classify", str(data / "red" / "000.png"),
                                            "--weights", str(weights)],
    "evaluate": lambda weights, data, out: ["evaluate", str(data), "--weights", str(weights)],
    "train": lambda weights, data, out: ["train", str(data), "--out", str(out),
                                         "--from", str(weights), "--epochs", "1"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_hostile_weights_are_one_line_from_every_command(
    command: str, hostile_checkpoints: tuple[list[HostileCheckpoint], Path],
    tiny_colour_dataset: Path, tmp_path: Path, capsys,
) -> None:
    checkpoints, marker = hostile_checkpoints
    out = tmp_path / "trained.pth"
    for checkpoint in checkpoints:
        args = COMMANDS[command](checkpoint.path, tiny_colour_dataset, out)
        status, _, err = run([*args, "--device", "cpu"], capsys)
        where = f"{command} --weights {checkpoint.path.name}"
        assert status == 1, where
        assert err.count("\n") == 1 and err.startswith(f"alexnet-gui {command}: "), (where, err)
        assert checkpoint.expect in err, (where, err)
    assert not marker.exists(), "a checkpoint ran code"
    assert not out.exists() and not Path(f"{out}.last").exists()


def _data(tmp_path: Path, layout: dict[str, dict[str, bytes | None]]) -> Path:
    """Class folders of files; ``None`` content is a real little image."""
    root = tmp_path / "data"
    for folder, files in layout.items():
        (root / folder).mkdir(parents=True)
        for name, content in files.items():
            if content is None:
                Image.new("RGB", (16, 16), (len(name) * 20, 90, 30)).save(root / folder / name)
            else:
                (root / folder / name).write_bytes(content)
    root.mkdir(exist_ok=True)
    return root


GARBAGE = b"\xff\xd8\xff\xe0 not really a jpeg"
DATASETS = {  # class names are always_blue_checkpoint's, so evaluate gets as far as the images
    "empty class folder": ({"blue": {"a.png": None}, "red": {}}, "no images in", "red"),
    "one class": ({"blue": {"a.png": None, "b.png": None}}, "only one class folder", "blue"),
    "non-images only": ({"blue": {"a.txt": b"x"}, "red": {"b.pdf": b"%PDF"}}, "No image files",
                        ""),
    "images but no class folders": ({".": {"a.png": None}}, "no class folders", ""),
    "every image unreadable": ({"blue": {f"{i}.jpg": GARBAGE for i in range(3)},
                                "red": {f"{i}.jpg": GARBAGE for i in range(3)}},
                               "None of the", "could be read"),
}


@pytest.mark.parametrize("case", sorted(DATASETS))
def test_unusable_data_folders_are_one_line_for_train_and_evaluate(
    case: str, tmp_path: Path, always_blue_checkpoint: Path, capsys
) -> None:
    layout, expect, detail = DATASETS[case]
    data = _data(tmp_path, layout)
    out = tmp_path / "model.pth"
    status, _, err = run(["train", str(data), "--out", str(out), *TINY_RUN], capsys)
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith("alexnet-gui train: ") and expect in err and detail in err, err
    assert not out.exists() and not Path(f"{out}.last").exists()
    if case in ("every image unreadable", "non-images only"):
        status, _, err = run(["evaluate", str(data), "--weights", str(always_blue_checkpoint)],
                             capsys)
        assert status == 1 and err.count("\n") == 1 and expect in err, err


def test_some_unreadable_images_are_skipped_counted_and_training_finishes(
    tmp_path: Path, capsys
) -> None:
    data = write_colour_dataset(tmp_path / "data", ("red", "blue"), per_class=4, size=32)
    (data / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    (data / "blue" / "empty.jpg").write_bytes(b"")
    out = tmp_path / "model.pth"
    status, stdout, err = run(["train", str(data), "--out", str(out), *TINY_RUN], capsys)
    assert status == 0, err
    assert "alexnet-gui train: warning: 2 unreadable image(s) skipped" in err
    assert "epoch   1/1" in stdout and out.exists()
