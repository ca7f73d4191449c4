"""Find the Python interpreters this project supports, and pick one for the development venv.

    python3 scripts/pythons.py --list    # every supported interpreter found, newest first
    python3 scripts/pythons.py --pick    # the one for .venv (stdout), and why (stderr)

Supported: Python 3.13, 3.12 and 3.11 (``SUPPORTED``; pyproject.toml's ``requires-python`` and
classifiers say the same, and tests/test_packaging.py checks that they agree). An interpreter
counts as found when it runs: ``python3.13`` on PATH, else pyenv's ``$PYENV_ROOT/versions/3.13.*``
(a pyenv shim for a version that is installed but not selected is on PATH yet fails to run).

``--pick`` asks pip, for each interpreter newest first, where the pinned heavy wheels (torch,
torchvision, OpenVINO, PyQt5) would come from (``pip install --dry-run``, metadata only):

- none for this interpreter (a Python newer than the pins): skipped;
- this machine already holds them (a local wheel folder or index in pip's configuration, as on
  this project's development and CI machines, which carry the Python 3.11 wheels): taken;
- else downloaded (about 1.2 GB, mostly torch and its CUDA libraries): taken only if no
  interpreter has them locally, so a fresh clone's ``make test`` does not download gigabytes.

So a user's machine gets the newest supported Python; ours keep the fast one. If pip cannot be
asked (offline), the newest interpreter found is taken. Standard library only; it must run on
whatever ``python3`` is first on PATH.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

SUPPORTED = ("3.13", "3.12", "3.11")  # newest first
REPO_ROOT = Path(__file__).resolve().parent.parent
#: The dependencies whose wheels decide an interpreter: large, and built per Python version.
HEAVY = ("torch", "torchvision", "openvino", "pyqt5")
PROBE_TIMEOUT_S = 90


class Interpreter(NamedTuple):
    version: str  # "3.13"
    path: str  # an executable that runs it
    full_version: str  # "3.13.0"


def _run_version(path: str) -> str | None:
    """``3.13.0`` if ``path`` runs a Python, else None."""
    try:
        result = subprocess.run(
            [path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = result.stdout.strip()
    return out if result.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+", out) else None


def _pyenv_candidates(version: str) -> list[str]:
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    found = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))

    def patch(path: str) -> int:
        match = re.search(rf"{re.escape(version)}\.(\d+)", path)
        return int(match.group(1)) if match else -1

    # plain releases only (3.13.0, not 3.13.0t or 3.13-dev), highest patch first
    plain = [p for p in found if re.search(rf"/{re.escape(version)}\.\d+/bin/", p)]
    return sorted(plain, key=patch, reverse=True)


def find(version: str) -> Interpreter | None:
    """A working interpreter for ``version`` ("3.12"), or None."""
    candidates = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    candidates += _pyenv_candidates(version)
    for path in candidates:
        full = _run_version(path)
        if full is not None and full.startswith(version + "."):
            return Interpreter(version, path, full)
    return None


def find_all(versions: tuple[str, ...] = SUPPORTED) -> list[Interpreter]:
    return [found for found in (find(v) for v in versions) if found is not None]


def pinned_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The HEAVY entries of ``[project] dependencies``, as written there (a regex: no tomllib
    before 3.11, and this runs on any python3)."""
    text = pyproject.read_text(encoding="utf-8")
    block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    if block is None:
        raise SystemExit("pythons.py: no dependencies list in pyproject.toml")
    requirements = re.findall(r'"([^"]+)"', block.group(1))
    wanted = []
    for requirement in requirements:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        if name.lower().replace("_", "-") in HEAVY:
            wanted.append(requirement)
    return wanted


def wheel_source(interpreter: Interpreter, requirements: list[str]) -> str:
    """Where pip would get ``requirements`` for this interpreter: ``local``, ``download``,
    ``missing`` (no wheel for it) or ``unknown`` (pip could not be asked)."""
    with tempfile.TemporaryDirectory(prefix="alexnet-gui-pythons-") as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            interpreter.path, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps",
            "--ignore-installed", "--only-binary=:all:", "--timeout", "15", "--retries", "1",
            "--disable-pip-version-check", "--report", str(report), *requirements,
        ]  # fmt: skip
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, cwd=tmp
            )
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        if result.returncode != 0:
            text = result.stderr
            if "No matching distribution" in text or "Could not find a version" in text:
                return "missing"
            return "unknown"
        try:
            installs = json.loads(report.read_text(encoding="utf-8"))["install"]
        except (OSError, ValueError, KeyError):
            return "unknown"
    urls = {
        item["metadata"]["name"].lower(): item["download_info"]["url"] for item in installs
    }
    # torch is the gigabyte; the others are tens of megabytes
    return "local" if urls.get("torch", "").startswith("file:") else "download"


def pick(
    interpreters: list[Interpreter], requirements: list[str]
) -> tuple[Interpreter | None, str]:
    """The interpreter for .venv and a sentence saying why."""
    if not interpreters:
        return None, "no supported Python found (" + ", ".join(SUPPORTED) + ")"
    sources = {}
    for interpreter in interpreters:
        sources[interpreter.version] = source = wheel_source(interpreter, requirements)
        if source == "local":
            break
    usable = [i for i in interpreters if sources.get(i.version, "unknown") != "missing"]
    local = [i for i in usable if sources.get(i.version) == "local"]
    newest = interpreters[0]
    if local:
        chosen = local[0]
        if chosen is newest:
            why = "the newest supported Python; its torch wheels are already on this machine"
        else:
            newer = [i for i in interpreters if i.version in sources and i is not chosen]
            download = [i.version for i in newer if sources[i.version] == "download"]
            other = [f"{i.version} ({sources[i.version]})" for i in newer
                     if sources[i.version] != "download"]  # fmt: skip
            parts = []
            if download:
                parts.append(f"{' and '.join(download)} would download them (about 1.2 GB)")
            if other:
                parts.append(", ".join(other))
            why = (
                f"the newest whose torch wheels are already on this machine; {'; '.join(parts)}. "
                f"To choose: make clean; make PYTHON={newest.path} test"
            )
        return chosen, why
    if usable:
        chosen = usable[0]
        state = sources.get(chosen.version, "unknown")
        why = "the newest supported Python with torch wheels" + (
            " (pip could not be asked; taken as found)" if state == "unknown" else ""
        )
        return chosen, why
    return None, "no supported Python has wheels for: " + ", ".join(requirements)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--list", action="store_true", help="every supported Python found")
    group.add_argument("--pick", action="store_true", help="the Python for .venv")
    args = parser.parse_args(argv)
    interpreters = find_all()
    if args.list:
        for interpreter in interpreters:
            print(f"{interpreter.version} {interpreter.full_version} {interpreter.path}")
        return 0 if interpreters else 1
    chosen, why = pick(interpreters, pinned_requirements())
    if chosen is None:
        print(f"pythons.py: {why}", file=sys.stderr)
        return 1
    print(f"make: .venv uses Python {chosen.full_version} ({chosen.path}): {why}", file=sys.stderr)
    print(chosen.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
