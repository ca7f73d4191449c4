"""``alexnet-gui classify`` with a cached engine: no torch imported, the same answers, rows and
exit status as the torch path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alexnet_gui.cli import classify as classify_cli
from alexnet_gui.cli import main
from alexnet_gui.core.engines import openvino_runtime
from alexnet_gui.core.engines.names import ENGINE_ENV
from tests.fixtures.engines import NEEDS_OPENVINO

needs_openvino = pytest.mark.skipif(not openvino_runtime.available(), reason=NEEDS_OPENVINO)

RUN = """
import json, sys
from alexnet_gui.cli import main
status = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))
print(json.dumps({"status": status, "loaded": loaded}), file=sys.stderr)
"""


def run_cli(args: list[str], cache_home: Path) -> tuple[int, list, list[str], str]:
    """``main(args)`` in a new process: exit status, JSON output, torch modules, stderr lines."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    env.pop(ENGINE_ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args], env=env, capture_output=True, text=True, timeout=300
    )
    *lines, last = done.stderr.strip().splitlines()
    report = json.loads(last)
    return report["status"], json.loads(done.stdout), report["loaded"], "\n".join(lines)


def torch_path(args: list[str], capsys, monkeypatch) -> tuple[int, list, str]:
    """The same command in this process, with the quick path turned off."""
    monkeypatch.setattr(classify_cli, "_quick", lambda _args: None)
    capsys.readouterr()
    status = main(args)
    out, err = capsys.readouterr()
    return status, json.loads(out), err


def same_answers(quick: list, torch_rows: list, *, tolerance: float) -> None:
    assert [row["path"] for row in quick] == [row["path"] for row in torch_rows]
    for mine, theirs in zip(quick, torch_rows, strict=True):
        assert mine.get("error") == theirs.get("error")
        if "predictions" in theirs:
            ranks = [(p["rank"], p["index"], p["label"]) for p in mine["predictions"]]
            assert ranks == [(p["rank"], p["index"], p["label"]) for p in theirs["predictions"]]
            for a, b in zip(mine["predictions"], theirs["predictions"], strict=True):
                assert a["probability"] == pytest.approx(b["probability"], abs=tolerance)


@needs_openvino
def test_classify_with_a_cached_engine_imports_no_torch(
    int8_selection, engine_cache_home: Path, photo_classifier_file: Path, chelsea_png: Path,
    capsys, monkeypatch,
) -> None:  # fmt: skip
    args = ["classify", str(chelsea_png), "--weights", str(photo_classifier_file), "--json",
            "--engine", "openvino-int8", "--topk", "3"]  # fmt: skip
    status, rows, loaded, err = run_cli(args, engine_cache_home)
    assert (status, loaded) == (0, [])
    assert "Traceback" not in err
    monkeypatch.setenv("XDG_CACHE_HOME", str(engine_cache_home))
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    expected_status, expected, expected_err = torch_path(args, capsys, monkeypatch)
    assert expected_status == 0 and err == expected_err.strip()  # the same notes, if any
    same_answers(rows, expected, tolerance=1e-5)  # a PNG: the same pixels on both paths


@needs_openvino
def test_a_folder_gets_the_same_rows_and_exit_status(
    int8_selection, engine_cache_home: Path, photo_classifier_file: Path, photo_folder: Path,
    capsys, monkeypatch,
) -> None:  # fmt: skip
    args = ["classify", str(photo_folder), "--weights", str(photo_classifier_file), "--json",
            "--engine", "openvino-int8", "--topk", "2"]  # fmt: skip
    status, rows, loaded, err = run_cli(args, engine_cache_home)
    assert (status, loaded) == (1, [])  # broken.jpg fails, as on the torch path
    monkeypatch.setenv("XDG_CACHE_HOME", str(engine_cache_home))
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    expected_status, expected, expected_err = torch_path(args, capsys, monkeypatch)
    assert status == expected_status
    assert err.splitlines() == expected_err.strip().splitlines()  # "broken.jpg: ..." once
    # JPEGs: the torch path's folder decoder (OpenCV, torch's resize) is within 1% of Pillow's.
    same_answers(rows, expected, tolerance=0.01)
    with_tta = [*args, "--tta"]
    status, rows, loaded, _ = run_cli(with_tta, engine_cache_home)
    assert (status, loaded) == (1, [])
    _, expected, _ = torch_path(with_tta, capsys, monkeypatch)
    same_answers(rows, expected, tolerance=1e-5)  # TenCrop: Pillow on both paths


def test_no_quick_path_for_a_gpu_or_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(
        "alexnet_gui.core.inference.quick.find_quick_engine",
        lambda weights, *, engine: asked.append(engine),
    )

    def args(device: str) -> object:
        return type("Args", (), {"device": device, "weights": None, "engine": "auto"})()

    assert classify_cli._quick(args("cuda")) is None and asked == []
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert classify_cli._quick(args("cpu")) is None and asked == []
    monkeypatch.setenv("WORLD_SIZE", "1")
    classify_cli._quick(args("cpu"))
    assert asked == ["auto"]
    monkeypatch.setattr(classify_cli, "_maybe_cuda", lambda: True)
    assert classify_cli._quick(args("auto")) is None and asked == ["auto"]


def test_unreadable_weights_are_one_line_before_any_model(
    tmp_path: Path, chelsea_png: Path, capsys, monkeypatch
) -> None:
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    missing = tmp_path / "missing.pth"
    assert main(["classify", str(chelsea_png), "--weights", str(missing), "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"alexnet-gui classify: Weights file not found: {missing}"]
