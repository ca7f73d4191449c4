"""Run the built app (dist/alexnet-gui/) headless and check that it works: ``make bundle-test``.

    .venv/bin/python scripts/bundle_test.py [--dist dist/alexnet-gui] [--skip-gui]

What it checks, each printed as ``ok`` or ``FAIL``:

1. the bundle's layout: the executable, torchvision's compiled operators (``_C_stable``,
   ``image_stable``), the resources (icon, sample image), and no triton;
2. ``alexnet-gui --version``;
3. ``alexnet-gui classify resources/samples/chelsea.jpg --weights W --json`` with a random
   AlexNet state_dict W made here: exit 0, valid JSON, five ranked predictions, the same as the
   source tree's ``python -m alexnet_gui classify`` gives;
4. ``classify`` of a missing file exits 1 with one line on stderr;
5. ``alexnet-gui info`` finds the packages' metadata;
5b. ``alexnet-gui export W --format onnx`` writes a file with the class names in its metadata;
6. the window, offscreen (``QT_QPA_PLATFORM=offscreen``): it loads W, classifies the sample,
   saves a screenshot (``ALEXNET_GUI_SCREENSHOT``), quits by itself and exits 0.

Settings, weights and the torch cache point into a temporary folder, so nothing of the user's
is read or written. Exits 1 if any check failed. On Windows the executable must be built with
``ALEXNET_GUI_CONSOLE=1``, or the command line has no stdout to read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "resources" / "samples" / "chelsea.jpg"
EXE_NAME = "alexnet-gui"
TIMEOUT_S = 300


class Checks:
    """Counts and prints results; a failure does not stop the checks after it."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok    {what}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            self.failures.append(what)
            print(f"FAIL  {what}" + (f": {detail}" if detail else ""), flush=True)
        return ok


def executable(dist: Path) -> Path:
    return dist / (EXE_NAME + (".exe" if sys.platform == "win32" else ""))


def contents(dist: Path) -> Path:
    """Where PyInstaller 6 puts libraries and data: ``_internal/`` beside the executable."""
    internal = dist / "_internal"
    return internal if internal.is_dir() else dist


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run(
    cmd: Sequence[str | os.PathLike[str]], env: dict[str, str], timeout: float = TIMEOUT_S
) -> tuple[subprocess.CompletedProcess[str] | None, float, str]:
    """Run ``cmd``; the result (None on timeout), seconds taken, and a short description."""
    start = time.perf_counter()
    try:
        result = subprocess.run(
            [str(c) for c in cmd],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=env.get("HOME"),
        )
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - start, f"timed out after {timeout:.0f} s"
    elapsed = time.perf_counter() - start
    return result, elapsed, f"exit {result.returncode} in {elapsed:.1f} s"


def tail(text: str, lines: int = 15) -> str:
    return "\n        " + "\n        ".join(text.strip().splitlines()[-lines:]) if text else ""


def make_weights(folder: Path) -> Path:
    """A random torchvision AlexNet state_dict (seeded), as a user's fine-tuned file would be."""
    import torch
    from torchvision.models import alexnet

    torch.manual_seed(0)
    path = folder / "random-alexnet.pth"
    torch.save(alexnet(num_classes=1000).state_dict(), path)
    return path


def isolated_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(tmp / "home"),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "TORCH_HOME": str(tmp / "torch"),
            "ALEXNET_GUI_MODELS": str(tmp / "models"),
            "XDG_RUNTIME_DIR": str(tmp / "runtime"),
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PYTHONPATH", None)  # the bundle must not lean on the source tree
    for name in ("home", "config", "cache", "torch", "models", "runtime"):
        (tmp / name).mkdir(mode=0o700, exist_ok=True)
    return env


def check_layout(checks: Checks, dist: Path) -> None:
    exe = executable(dist)
    checks.check(exe.is_file() and os.access(exe, os.X_OK), "executable", str(exe))
    inside = contents(dist)
    tv = inside / "torchvision"
    for name in ("_C_stable", "image_stable"):
        found = sorted(p.name for p in tv.glob(f"{name}.*")) if tv.is_dir() else []
        checks.check(bool(found), f"torchvision operators {name}", ", ".join(found) or "missing")
    for part in (("icons", "alexnet-gui.png"), ("samples", "chelsea.jpg")):
        path = inside.joinpath("resources", *part)
        checks.check(path.is_file(), f"resource {'/'.join(part)}", str(path.relative_to(dist)))
    cv2 = sorted(p.name for p in (inside / "cv2").glob("cv2*")) if (inside / "cv2").is_dir() else []
    checks.check(bool(cv2), "OpenCV (camera and video)", ", ".join(cv2) or "missing")
    checks.check(not (inside / "triton").exists(), "triton left out")
    checks.check(not (inside / "scipy").exists(), "scipy left out")


def source_modules() -> list[str]:
    """Every module of the alexnet_gui package in the source tree."""
    package = REPO_ROOT / "alexnet_gui"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def check_app_modules(checks: Checks, exe: Path) -> None:
    """The bundle holds every alexnet_gui module (the CLI imports sub-commands by name)."""
    try:
        from PyInstaller.archive.readers import CArchiveReader

        pyz = CArchiveReader(str(exe)).open_embedded_archive("PYZ.pyz")
        bundled = set(pyz.toc)
    except Exception as exc:  # PyInstaller missing, or another archive layout
        print(f"skip  alexnet_gui modules in the bundle: cannot read its archive ({exc})")
        return
    missing = [name for name in source_modules() if name not in bundled]
    checks.check(
        not missing,
        "every alexnet_gui module is in the bundle",
        f"{len(source_modules())} modules"
        if not missing
        else "missing (rebuild?): " + ", ".join(missing),
    )


def check_classify(checks: Checks, exe: Path, weights: Path, env: dict[str, str]) -> None:
    cmd = [exe, "classify", SAMPLE, "--weights", weights, "--json", "--device", "cpu",
           "--engine", "pytorch"]
    result, _, desc = run(cmd, env)
    if not checks.check(
        result is not None and result.returncode == 0,
        "classify the sample with the bundle",
        desc + (tail(result.stderr) if result is not None and result.returncode else ""),
    ):
        return
    assert result is not None
    try:
        entries = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        checks.check(False, "classify --json prints JSON", f"{exc}: {result.stdout[:300]!r}")
        return
    predictions = entries[0].get("predictions", []) if entries else []
    ranks = [p.get("rank") for p in predictions]
    probabilities = [p.get("probability", -1.0) for p in predictions]
    shape_ok = (
        isinstance(entries, list)
        and len(entries) == 1
        and ranks == [1, 2, 3, 4, 5]
        and all(0.0 <= p <= 1.0 for p in probabilities)
        and probabilities == sorted(probabilities, reverse=True)
        and all(isinstance(p.get("label"), str) for p in predictions)
    )
    top = predictions[0] if predictions else {}
    checks.check(
        shape_ok,
        "classify --json: one entry, five ranked predictions",
        f"top-1 {top.get('label')!r} p={top.get('probability', 0):.4f}, "
        f"{entries[0].get('elapsed_ms', 0):.0f} ms"
        if shape_ok
        else result.stdout[:300],
    )
    source_env = dict(env)
    source_env["PYTHONPATH"] = str(REPO_ROOT)
    reference, _, desc = run(
        [sys.executable, "-m", "alexnet_gui", *[str(c) for c in cmd[1:]]], source_env
    )
    if reference is None or reference.returncode != 0:
        checks.check(False, "classify from source, for comparison", desc)
        return
    expected = json.loads(reference.stdout)[0]["predictions"]
    same = [p["index"] for p in predictions] == [p["index"] for p in expected] and all(
        abs(a["probability"] - b["probability"]) < 1e-4
        for a, b in zip(predictions, expected, strict=True)
    )
    checks.check(
        same,
        "bundle and source tree give the same top-5",
        f"indices {ranks and [p['index'] for p in predictions]}",
    )


def check_openvino(checks: Checks, exe: Path, weights: Path, env: dict[str, str]) -> None:
    """The int8 engine converts and runs inside the bundle, without falling back to PyTorch."""
    cmd = [exe, "classify", SAMPLE, "--weights", weights, "--json", "--engine", "openvino-int8"]
    result, _, desc = run(cmd, env)
    fell_back = result is not None and "PyTorch" in result.stderr
    checks.check(
        result is not None and result.returncode == 0 and not fell_back,
        "classify with the OpenVINO int8 engine (no fallback to PyTorch)",
        desc + (tail(result.stderr) if result is not None and (fell_back or result.returncode)
                else ""),
    )


def check_export(checks: Checks, exe: Path, weights: Path, env: dict[str, str],
                 tmp: Path) -> None:
    """Model > Export's code path in the bundle: an ONNX file with the app's metadata."""
    out = tmp / "exported.onnx"
    result, _, desc = run([exe, "export", weights, "--format", "onnx", "--out", out], env)
    if not checks.check(result is not None and result.returncode == 0 and out.is_file(),
                        "export --format onnx with the bundle",
                        desc + (tail(result.stderr) if result is not None and result.returncode
                                else "")):
        return
    import onnx  # the test's own interpreter, not the bundle's

    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    checks.check("class_names" in props and "preprocessing" in props,
                 "the exported ONNX file carries class names and pre-processing",
                 f"{out.stat().st_size / 2**20:.0f} MB, keys {sorted(props)}")


def check_missing_file(checks: Checks, exe: Path, weights: Path, env: dict[str, str]) -> None:
    missing = Path(env["HOME"]) / "no-such-image.jpg"
    result, _, desc = run([exe, "classify", missing, "--weights", weights], env)
    checks.check(
        result is not None and result.returncode == 1 and "no-such-image" in result.stderr,
        "classify a missing file exits 1 and says which",
        desc,
    )


def check_info(checks: Checks, exe: Path, env: dict[str, str]) -> None:
    result, _, desc = run([exe, "info"], env)
    ok = result is not None and result.returncode == 0
    lines = result.stdout.splitlines() if result is not None else []
    torch_line = next((line.strip() for line in lines if line.strip().startswith("torch ")), "")
    checks.check(
        ok and "not installed" not in result.stdout and bool(torch_line),
        "info finds the packages' versions",
        " ".join(torch_line.split()) if ok else desc,
    )


def check_gui(checks: Checks, exe: Path, weights: Path, env: dict[str, str], tmp: Path) -> None:
    shot = tmp / "screenshot.png"
    gui_env = dict(env)
    gui_env.update({"ALEXNET_GUI_SCREENSHOT": str(shot), "ALEXNET_GUI_TIMING": "1"})
    result, _, desc = run([exe, "--weights", weights, SAMPLE], gui_env)
    stderr = result.stderr if result is not None else ""
    checks.check(
        result is not None and result.returncode == 0,
        "window opens offscreen, classifies and quits by itself",
        desc + (tail(stderr) if result is not None and result.returncode else ""),
    )
    if result is None:
        return
    events = {
        line.split()[1]: float(line.split()[2])
        for line in result.stdout.splitlines()
        if line.startswith("alexnet-gui-timing ") and len(line.split()) == 3
    }
    wanted = ("window_shown", "model_loaded", "first_result")
    checks.check(
        all(e in events for e in wanted) and "model_failed" not in events,
        "window: shown, model loaded, first result",
        ", ".join(f"{e} +{events[e] - events['window_shown']:.2f} s" for e in wanted if e in events)
        if "window_shown" in events
        else result.stdout[-300:],
    )
    size = _png_size(shot)
    checks.check(
        size is not None and size[0] >= 300 and size[1] >= 200,
        "window screenshot saved",
        f"{size[0]}x{size[1]} px" if size else f"no PNG at {shot}",
    )
    no_traceback = "Traceback" not in stderr
    checks.check(no_traceback, "no traceback on stderr", "" if no_traceback else tail(stderr, 20))


def _png_size(path: Path) -> tuple[int, int] | None:
    try:
        header = path.read_bytes()[:24]
    except OSError:
        return None
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the built app, headless.")
    parser.add_argument("--dist", type=Path, default=REPO_ROOT / "dist" / EXE_NAME)
    parser.add_argument("--skip-gui", action="store_true", help="command line checks only")
    args = parser.parse_args(argv)
    dist = args.dist.resolve()
    checks = Checks()
    started = time.perf_counter()
    if not executable(dist).is_file():
        print(f"FAIL  no executable at {executable(dist)}: run `make bundle` first")
        return 1
    print(f"bundle {dist}: {du(dist) / 2**30:.2f} GiB", flush=True)
    check_layout(checks, dist)
    check_app_modules(checks, executable(dist))
    with tempfile.TemporaryDirectory(prefix="alexnet-gui-bundle-test-") as name:
        tmp = Path(name)
        env = isolated_env(tmp)
        weights = make_weights(tmp)
        exe = executable(dist)
        result, _, desc = run([exe, "--version"], env)
        checks.check(
            result is not None and result.returncode == 0 and "alexnet-gui" in result.stdout,
            "--version",
            result.stdout.strip() if result is not None and result.stdout else desc,
        )
        check_classify(checks, exe, weights, env)
        check_openvino(checks, exe, weights, env)
        check_missing_file(checks, exe, weights, env)
        check_export(checks, exe, weights, env, tmp)
        check_info(checks, exe, env)
        if not args.skip_gui:
            check_gui(checks, exe, weights, env, tmp)
    took = time.perf_counter() - started
    if checks.failures:
        print(
            f"bundle-test: {len(checks.failures)} of {checks.passed + len(checks.failures)} "
            f"checks FAILED in {took:.0f} s: {', '.join(checks.failures)}"
        )
        return 1
    print(f"bundle-test: all {checks.passed} checks passed in {took:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
