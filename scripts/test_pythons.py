"""Fresh venvs on the other supported Pythons, `pip install .`, then use it: ``make test-pythons``.

    python3 scripts/test_pythons.py                 # every supported Python but .venv's
    python3 scripts/test_pythons.py --python 3.13   # just that one (repeatable)
    python3 scripts/test_pythons.py --all           # .venv's Python too

For each interpreter (scripts/pythons.py finds them), in ``build/pythons/<version>/``:

1. a fresh venv, then ``pip install .`` (a real, non-editable install of the project);
2. the installed package finds its resources inside the venv, not in this checkout;
3. ``alexnet-gui classify PHOTO --json`` with a random-weights state_dict made for the purpose:
   exit 0, one entry, five ranked predictions;
4. ``alexnet-gui summary``: the layer table and 61,100,840 parameters;
5. ``alexnet-gui-window`` (the gui-scripts entry point) offscreen, until its first result
   (``ALEXNET_GUI_QUIT_AFTER=first_result``, ``ALEXNET_GUI_TIMING=1``): exit 0.

Every command runs from a temporary folder, with HOME, the settings, caches, TORCH_HOME and the
models folder pointing into it, and without PYTHONPATH: nothing comes from this checkout but
what ``pip install .`` copied. Prints one line per interpreter, PASS or FAIL with timings, and
exits 1 if any failed. The venvs are deleted afterwards (``--keep`` keeps them). On a machine
without the wheels for a Python, its install downloads them (about 1.2 GB, 2 to 3 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pythons  # scripts/pythons.py, beside this file

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "resources" / "samples" / "chelsea.jpg"
WORK = REPO_ROOT / "build" / "pythons"
INSTALL_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 300
TORCHVISION_PARAMETERS = "61,100,840"

MAKE_WEIGHTS = """
import sys, torch
from torchvision.models import alexnet
torch.manual_seed(0)
torch.save(alexnet(num_classes=1000).state_dict(), sys.argv[1])
"""

WHERE_RESOURCES = """
from alexnet_gui.paths import resource_path
import alexnet_gui
print(alexnet_gui.__file__)
print(resource_path("icons", "alexnet-gui.png"))
print(len(sorted(resource_path("calibration").glob("*.jpg"))))
"""


class Report:
    """The checks of one interpreter, printed as they happen."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.failures: list[str] = []
        self.timings: list[str] = []

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        mark = "ok  " if ok else "FAIL"
        print(f"  {mark}  {what}" + (f" ({detail})" if detail else ""), flush=True)
        if not ok:
            self.failures.append(what)
        return ok

    def line(self) -> str:
        verdict = "PASS" if not self.failures else "FAIL: " + "; ".join(self.failures)
        return f"python {self.label}: {verdict} ({', '.join(self.timings)})"


def run(
    cmd: Sequence[str | os.PathLike[str]],
    env: dict[str, str],
    cwd: Path,
    timeout: float = RUN_TIMEOUT_S,
) -> tuple[subprocess.CompletedProcess[str] | None, float]:
    start = time.perf_counter()
    try:
        result = subprocess.run(
            [str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - start
    return result, time.perf_counter() - start


def tail(result: subprocess.CompletedProcess[str] | None, lines: int = 12) -> str:
    if result is None:
        return "timed out"
    text = (result.stderr or result.stdout).strip().splitlines()[-lines:]
    return f"exit {result.returncode}\n        " + "\n        ".join(text)


def isolated_env(tmp: Path, venv: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYENV_VERSION"):
        env.pop(name, None)
    env.update(
        {
            "HOME": str(tmp / "home"),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_RUNTIME_DIR": str(tmp / "runtime"),
            "TORCH_HOME": str(tmp / "torch"),
            "ALEXNET_GUI_MODELS": str(tmp / "models"),
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": str(venv / "bin") + os.pathsep + env.get("PATH", ""),
        }
    )
    for name in ("home", "config", "cache", "data", "runtime", "torch", "models"):
        (tmp / name).mkdir(mode=0o700, exist_ok=True)
    return env


def install(report: Report, interpreter: pythons.Interpreter, venv: Path) -> bool:
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for name in ("PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    result, took = run([interpreter.path, "-m", "venv", venv], env, REPO_ROOT, timeout=300)
    if not report.check(result is not None and result.returncode == 0, "fresh venv", tail(result)
                        if result is None or result.returncode else f"{took:.1f} s"):
        return False
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], env, REPO_ROOT, timeout=600)
    result, took = run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "."],
        env, REPO_ROOT, timeout=INSTALL_TIMEOUT_S,
    )  # fmt: skip
    report.timings.append(f"install {took:.0f} s")
    ok = result is not None and result.returncode == 0
    size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())
    return report.check(ok, "pip install .", f"{took:.0f} s, venv {size / 2**30:.1f} GiB"
                        if ok else tail(result))


def check_resources(report: Report, venv: Path, env: dict[str, str], cwd: Path) -> None:
    result, _ = run([venv / "bin" / "python", "-c", WHERE_RESOURCES], env, cwd)
    lines = result.stdout.split("\n") if result is not None and result.returncode == 0 else []
    if len(lines) < 3:
        report.check(False, "resources found in the installed package", tail(result))
        return
    package, icon, calibration = lines[0], Path(lines[1]), int(lines[2] or 0)
    inside = str(icon).startswith(str(venv)) and package.startswith(str(venv))
    report.check(
        inside and icon.is_file() and calibration >= 10,
        "resources found in the installed package",
        f"{icon.relative_to(venv) if inside else icon}, {calibration} calibration photos",
    )


def check_classify(
    report: Report, venv: Path, weights: Path, photo: Path, env: dict[str, str], cwd: Path
) -> None:
    cmd = [venv / "bin" / "alexnet-gui", "classify", photo, "--weights", weights, "--json",
           "--device", "cpu", "--engine", "pytorch"]  # fmt: skip
    result, took = run(cmd, env, cwd)
    report.timings.append(f"classify {took:.1f} s")
    if not report.check(result is not None and result.returncode == 0, "classify --json",
                        f"{took:.1f} s" if result is not None and result.returncode == 0
                        else tail(result)):  # fmt: skip
        return
    assert result is not None
    try:
        entries = json.loads(result.stdout)
        predictions = entries[0]["predictions"]
        ok = len(entries) == 1 and [p["rank"] for p in predictions] == [1, 2, 3, 4, 5]
        detail = f"top-1 {predictions[0]['label']!r} p={predictions[0]['probability']:.4f}"
    except (ValueError, LookupError, TypeError) as exc:
        ok, detail = False, f"{exc}: {result.stdout[:200]!r}"
    report.check(ok, "classify --json: one entry, five ranked predictions", detail)


def check_summary(report: Report, venv: Path, env: dict[str, str], cwd: Path) -> None:
    result, took = run([venv / "bin" / "alexnet-gui", "summary"], env, cwd)
    report.timings.append(f"summary {took:.1f} s")
    ok = result is not None and result.returncode == 0 and TORCHVISION_PARAMETERS in result.stdout
    report.check(ok, "summary", f"{took:.1f} s" if ok else tail(result))


def check_window(
    report: Report, venv: Path, weights: Path, photo: Path, env: dict[str, str], cwd: Path
) -> None:
    gui_env = dict(env)
    gui_env.update({"ALEXNET_GUI_QUIT_AFTER": "first_result", "ALEXNET_GUI_TIMING": "1"})
    result, took = run([venv / "bin" / "alexnet-gui-window", "--weights", weights, photo],
                       gui_env, cwd)  # fmt: skip
    report.timings.append(f"window {took:.1f} s")
    events: dict[str, float] = {}
    if result is not None:
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "alexnet-gui-timing":
                events[parts[1]] = float(parts[2])
    ok = (
        result is not None
        and result.returncode == 0
        and "first_result" in events
        and "Traceback" not in result.stderr
    )
    detail = tail(result)
    if ok and "window_shown" in events:
        after = events["first_result"] - events["window_shown"]
        detail = f"{took:.1f} s; first result {after:.2f} s after the window was shown"
    report.check(ok, "alexnet-gui-window offscreen until its first result", detail)


def test_interpreter(interpreter: pythons.Interpreter, keep: bool) -> Report:
    report = Report(interpreter.full_version)
    print(f"python {interpreter.full_version} ({interpreter.path})", flush=True)
    venv = WORK / interpreter.version
    started = time.perf_counter()
    try:
        if not install(report, interpreter, venv):
            return report
        with tempfile.TemporaryDirectory(prefix="alexnet-gui-pythons-") as name:
            tmp = Path(name)
            env = isolated_env(tmp, venv)
            cwd = tmp / "home"  # not the checkout: only the installed package can be imported
            photo = tmp / "photo.jpg"
            shutil.copyfile(SAMPLE, photo)
            weights = tmp / "random-alexnet.pth"
            result, _ = run([venv / "bin" / "python", "-c", MAKE_WEIGHTS, weights], env, cwd)
            if not report.check(result is not None and result.returncode == 0 and weights.is_file(),
                                "random-weights state_dict", "" if weights.is_file()
                                else tail(result)):  # fmt: skip
                return report
            check_resources(report, venv, env, cwd)
            check_classify(report, venv, weights, photo, env, cwd)
            check_summary(report, venv, env, cwd)
            check_window(report, venv, weights, photo, env, cwd)
    finally:
        report.timings.append(f"total {time.perf_counter() - started:.0f} s")
        if not keep and venv.exists():
            shutil.rmtree(venv, ignore_errors=True)
    return report


def venv_version(venv: Path = REPO_ROOT / ".venv") -> str | None:
    """``3.11`` for the development venv, if there is one."""
    config = venv / "pyvenv.cfg"
    if not config.is_file():
        return None
    for line in config.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return ".".join(value.strip().split(".")[:2])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", choices=pythons.SUPPORTED,
                        help="test this Python version (repeatable)")
    parser.add_argument("--all", action="store_true", help="also the Python of .venv")
    parser.add_argument("--keep", action="store_true", help="keep the venvs in build/pythons/")
    args = parser.parse_args(argv)
    found = pythons.find_all()
    if args.python:
        wanted = [i for i in found if i.version in args.python]
        missing = sorted(set(args.python) - {i.version for i in wanted})
        if missing:
            print(f"test-pythons: not found: Python {', '.join(missing)}", file=sys.stderr)
            return 1
    else:
        skip = None if args.all else venv_version()
        wanted = [i for i in found if i.version != skip]
        absent = [v for v in pythons.SUPPORTED if v not in {i.version for i in found}]
        if skip:
            print(f"test-pythons: .venv's Python {skip} is `make test`'s; not repeated here")
        if absent:
            print(f"test-pythons: not on this machine: Python {', '.join(absent)}")
    if not wanted:
        print("test-pythons: no interpreter to test", file=sys.stderr)
        return 1
    reports = [test_interpreter(interpreter, args.keep) for interpreter in wanted]
    print()
    for report in reports:
        print(report.line())
    failed = sum(1 for r in reports if r.failures)
    print(f"test-pythons: {len(reports) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
