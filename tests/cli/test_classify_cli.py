"""``alexnet-gui classify``, ``summary`` and ``info`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alexnet_gui.cli import main


def test_json_lists_every_input_and_exit_1_when_one_failed(
    photo_folder: Path, small_checkpoint_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "classify",
            str(photo_folder),
            "--weights",
            str(small_checkpoint_file),
            "--json",
            "--topk",
            "2",
            "--device",
            "cpu",
        ]
    )
    out, err = capsys.readouterr()
    entries = json.loads(out)
    assert status == 1
    by_name = {Path(e["path"]).name: e for e in entries}
    assert set(by_name) == {
        "astronaut.jpg",
        "broken.jpg",
        "chelsea.jpg",
        "coffee.jpg",
        "rocket.jpg",
    }
    assert "\n" not in by_name["broken.jpg"]["error"]
    good = by_name["chelsea.jpg"]
    assert [p["rank"] for p in good["predictions"]] == [1, 2]
    assert {p["label"] for p in good["predictions"]} <= {"apple", "banana", "cherry"}
    assert set(good["predictions"][0]) == {"rank", "index", "label", "probability"}
    assert good["elapsed_ms"] > 0
    assert err.strip().splitlines() == [
        f"{photo_folder / 'broken.jpg'}: {by_name['broken.jpg']['error']}"
    ]
    assert "Traceback" not in err


def test_table_output_and_exit_0(
    chelsea_png: Path, state_dict_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["classify", str(chelsea_png), "--weights", str(state_dict_file), "--tta"])
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(str(chelsea_png)) and "ms)" in lines[0]
    assert len(lines) == 6 and lines[1].strip().startswith("1.")


def test_imagenet_weights_are_the_default(
    chelsea_png: Path, imagenet_weights_installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", str(chelsea_png), "--json", "--topk", "1"]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]["predictions"]) == 1


def test_missing_imagenet_weights_say_how_to_get_them(
    chelsea_png: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", str(chelsea_png)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "alexnet-gui download" in err


def test_broken_weights_file_is_one_line(
    chelsea_png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"nope")
    assert main(["classify", str(chelsea_png), "--weights", str(bad)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_input_and_empty_folder_are_errors(
    chelsea_png: Path, state_dict_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "classify",
            str(tmp_path / "nope.png"),
            str(tmp_path),
            str(chelsea_png),
            "--weights",
            str(state_dict_file),
            "--json",
        ]
    )
    entries = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [("error" in e) for e in entries] == [True, True, False]


@pytest.mark.parametrize(
    "argv",
    [["classify"], ["classify", "x.png", "--topk", "0"], ["classify", "x", "--device", "tpu"]],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize(("arch", "total"), [("torchvision", 61_100_840), ("paper", 60_965_224)])
def test_summary_json(arch: str, total: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--arch", arch, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["arch"] == arch and data["total_params"] == total
    assert sum(layer["params"] for layer in data["layers"]) == total
    assert set(data["layers"][0]) == {"name", "type", "output_shape", "params"}
    if arch == "paper":
        assert data["input_size"] == [227, 227, 3]
        assert data["layers"][0]["output_shape"] == [55, 55, 96]  # HxWxC, as the README


def test_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 61,100,840" in out and "conv1" in out
    assert "55x55x64" in out and "64x55x55" not in out  # one convention: HxWxC


def test_all_unreadable_inputs_load_no_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import alexnet_gui.core.models.weights as weights

    def no_loading(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a model was loaded for inputs that are all unreadable")

    monkeypatch.setattr(weights, "load_weights", no_loading)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.png").write_text("hello")
    status = main(["classify", str(tmp_path / "empty.jpg"), str(tmp_path / "notes.png")])
    err = capsys.readouterr().err.splitlines()
    assert status == 1
    assert err == [f"{tmp_path / 'empty.jpg'}: the file is empty (0 bytes).",
                   f"{tmp_path / 'notes.png'}: not an image file (or a format Pillow cannot read)."]


def test_error_lines_name_the_file_once(
    photo_folder: Path, small_checkpoint_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["classify", str(photo_folder / "broken.jpg"), str(photo_folder / "chelsea.jpg"),
          "--weights", str(small_checkpoint_file), "--device", "cpu"])
    err = capsys.readouterr().err
    assert err.count("broken.jpg") == 1, err


def test_info_lists_where_weights_are_looked_for(
    imagenet_weights_installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch " in out and "device:" in out
    assert f"[present] {imagenet_weights_installed}" in out
