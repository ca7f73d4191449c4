"""examples/run_exported.py, the README's snippet, as another program runs it: in a process of
its own that never imports alexnet_gui, giving the same top-1 as ``alexnet-gui classify``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from alexnet_gui.cli import main

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "run_exported.py"

#: Runs the example's top5() and reports it with every module the process imported.
RUNNER = """
import json, runpy, sys
example = runpy.run_path(sys.argv[1])
answers = example["top5"](sys.argv[2], sys.argv[3], sys.argv[4])
print(json.dumps({"answers": answers, "modules": sorted(sys.modules)}))
"""


def _run_example(model: Path, image: Path, runtime: str, cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(EXAMPLE), str(model), str(image), runtime],
        capture_output=True, text=True, cwd=cwd, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("fmt", "int8", "runtime"),
    [("onnx", False, "onnxruntime"), ("openvino", False, "openvino"),
     ("onnx", True, "onnxruntime"), ("onnx", False, "openvino")],
)
def test_the_example_gives_the_apps_top1_without_the_app(
    fmt, int8, runtime, exported, photo_checkpoint, chelsea_rgb, tmp_path, capsys
) -> None:
    image = tmp_path / "chelsea.png"
    Image.fromarray(chelsea_rgb).save(image)
    result = _run_example(exported(fmt, int8).path, image, runtime, cwd=tmp_path)
    leaked = [name for name in result["modules"] if name.split(".")[0] == "alexnet_gui"]
    assert leaked == []
    assert runtime in result["modules"]  # the runtime asked for did the work
    assert main(["classify", str(image), "--weights", str(photo_checkpoint), "--json",
                 "--device", "cpu", "--engine", "pytorch"]) == 0
    app = json.loads(capsys.readouterr().out)[0]["predictions"]
    answers = result["answers"]
    assert answers[0]["label"] == app[0]["label"] == "chelsea"
    assert [a["rank"] for a in answers] == [1, 2, 3, 4, 5]
    if not int8:
        assert answers[0]["probability"] == pytest.approx(app[0]["probability"], abs=1e-4)


def test_the_example_prints_top5_lines(exported, chelsea_rgb, tmp_path) -> None:
    image = tmp_path / "chelsea.jpg"
    Image.fromarray(chelsea_rgb).save(image)
    done = subprocess.run([sys.executable, str(EXAMPLE), str(exported("onnx").path), str(image)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and lines[0].startswith("1 ") and lines[0].endswith("chelsea")


def test_the_readme_snippet_runs_as_written(exported, chelsea_rgb, tmp_path) -> None:
    readme = (EXAMPLE.parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in readme.split("```python\n")[1:]]
    (snippet,) = [block for block in blocks if "import onnxruntime as ort" in block]
    (tmp_path / "fruit.onnx").symlink_to(exported("onnx").path)
    Image.fromarray(chelsea_rgb).save(tmp_path / "photo.jpg")
    check = "\nimport sys\nassert not [m for m in sys.modules if m.startswith('alexnet_gui')]\n"
    done = subprocess.run([sys.executable, "-c", snippet + check], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and lines[0].endswith("chelsea")
