"""``alexnet-gui export`` as a user runs it: what it prints, what it writes, how it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from alexnet_gui.cli import main
from alexnet_gui.core.export.metadata import read_metadata
from alexnet_gui.core.export.onnx_export import OPSET, read_onnx_metadata
from alexnet_gui.core.export.openvino_export import read_ir_metadata
from tests.fixtures.models import SMALL_CLASSES


@pytest.mark.slow
def test_onnx_export_states_the_opset_and_where_it_went(
    small_checkpoint_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "fruit.onnx"
    assert main(["export", str(small_checkpoint_file), "--format", "onnx", "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert f"opset {OPSET}" in stdout and str(out) in stdout and "3 classes" in stdout
    assert "within" in stdout and stderr == ""
    assert read_metadata(read_onnx_metadata(out)).categories == SMALL_CLASSES
    assert sorted(p.name for p in out.parent.iterdir()) == ["fruit.onnx"]  # no temporary left


@pytest.mark.slow
def test_openvino_export_defaults_to_beside_the_weights(
    state_dict_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / state_dict_file.name
    weights.symlink_to(state_dict_file)
    assert main(["export", str(weights), "--format", "openvino"]) == 0
    xml = tmp_path / "alexnet-random.xml"
    assert xml.is_file() and xml.with_suffix(".bin").is_file()
    assert str(xml) in capsys.readouterr().out
    info = read_metadata(read_ir_metadata(xml))
    assert len(info.categories) == 1000 and info.precision == "fp32"


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (lambda tmp, _w: [str(tmp / "missing.pth"), "--format", "onnx"], "not found"),
        (lambda tmp, _w: [str(_broken(tmp)), "--format", "onnx"], "not a readable"),
        (lambda tmp, w: [str(w), "--format", "onnx", "--out", str(_file(tmp) / "m.onnx")],
         "cannot write"),
        (lambda tmp, w: [str(w), "--format", "openvino", "--out", str(tmp / "m.onnx")],
         "must end in .xml"),
    ],
    ids=["missing", "broken", "unwritable", "wrong-suffix"],
)
def test_errors_are_one_line_and_exit_1(
    make_args, expected, state_dict_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = make_args(tmp_path, state_dict_file)
    before = sorted(tmp_path.rglob("*"))
    assert main(["export", *args]) == 1
    stdout, stderr = capsys.readouterr()
    assert stdout == "" and stderr.count("\n") == 1
    assert stderr.startswith("alexnet-gui export: ") and expected in stderr
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def test_an_unknown_format_is_a_usage_error(state_dict_file: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(state_dict_file), "--format", "tflite"])
    assert exit_info.value.code == 2


def _broken(folder: Path) -> Path:
    path = folder / "broken.pth"
    path.write_bytes(b"PK\x03\x04 this is no checkpoint")
    return path


def _file(folder: Path) -> Path:
    path = folder / "a-file"
    path.write_text("in the way")
    return path


def test_calibration_images_must_exist(state_dict_file: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(state_dict_file), "--format", "onnx", "--int8",
                 "--calibrate-with", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "alexnet-gui export: no image files in --calibrate-with\n"
