"""The package as pip sees it: the wheel and sdist that ``python -m build`` makes, the resources
inside them, where ``alexnet_gui.paths`` finds them in each layout, and the supported Pythons.

The wheel and sdist are built in-process with hatchling (the build backend; about a second, no
network). Installing them into fresh venvs on every supported Python is ``make test-pythons``.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from alexnet_gui import paths

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pythons = _load("pythons", ROOT / "scripts" / "pythons.py")


def _source_resources() -> list[str]:
    """Every file under resources/ that ships: all but the scripts that draw them, and caches."""
    base = ROOT / "resources"
    return sorted(
        path.relative_to(base).as_posix()
        for path in base.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel from this checkout, and a wheel built from that sdist (what
    ``python -m build`` ships)."""
    from hatchling.builders.sdist import SdistBuilder
    from hatchling.builders.wheel import WheelBuilder

    out = tmp_path_factory.mktemp("dist")
    sdist = Path(next(SdistBuilder(str(ROOT)).build(directory=str(out / "sdist"))))
    wheel = Path(next(WheelBuilder(str(ROOT)).build(directory=str(out / "wheel"))))
    unpacked = out / "unpacked"
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    (project,) = unpacked.iterdir()
    from_sdist = Path(next(WheelBuilder(str(project)).build(directory=str(out / "from-sdist"))))
    return {"sdist": sdist, "wheel": wheel, "wheel_from_sdist": from_sdist}


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return sorted(archive.namelist())


def _wheel_text(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(suffix)]
        return archive.read(name).decode("utf-8")


# -- the wheel --------------------------------------------------------------------------------


def test_the_wheel_carries_every_resource(built: dict[str, Path]) -> None:
    names = set(_wheel_names(built["wheel"]))
    expected = {f"alexnet_gui/resources/{name}" for name in _source_resources()}
    assert expected <= names, sorted(expected - names)
    for must in ("icons/alexnet-gui.png", "samples/chelsea.jpg", "alexnet-gui.desktop"):
        assert f"alexnet_gui/resources/{must}" in names
    assert sum(n.startswith("alexnet_gui/resources/calibration/") for n in names) >= 10


def test_the_wheel_leaves_out_resource_scripts_and_caches(built: dict[str, Path]) -> None:
    names = _wheel_names(built["wheel"])
    assert not [n for n in names if n.startswith("alexnet_gui/resources/") and n.endswith(".py")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    top = {n.split("/")[0] for n in names}
    assert top == {"alexnet_gui", "alexnet_gui-0.1.0.dist-info"}, top  # no tests/, no resources/


def test_the_wheel_holds_every_module_and_py_typed(built: dict[str, Path]) -> None:
    names = set(_wheel_names(built["wheel"]))
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "alexnet_gui").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    assert "alexnet_gui/py.typed" in names


def test_the_wheel_declares_both_entry_points(built: dict[str, Path]) -> None:
    entry_points = _wheel_text(built["wheel"], ".dist-info/entry_points.txt")
    console, _, gui = entry_points.partition("[gui_scripts]")
    assert "alexnet-gui = alexnet_gui.cli:entry_point" in console
    assert "alexnet-gui-window = alexnet_gui.cli:entry_point" in gui


def test_the_wheel_metadata_has_no_python_cap(built: dict[str, Path]) -> None:
    metadata = _wheel_text(built["wheel"], ".dist-info/METADATA")
    assert "Requires-Python: >=3.11\n" in metadata
    for version in pythons.SUPPORTED:
        assert f"Programming Language :: Python :: {version}" in metadata
    assert "Requires-Dist: torch==2.14.1" in metadata


def test_the_sdist_builds_the_same_wheel(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as archive:
        names = {"/".join(n.split("/")[1:]) for n in archive.getnames()}
    for name in ("pyproject.toml", "README.md", "alexnet_gui/__init__.py", "tests/conftest.py"):
        assert name in names
    assert {f"resources/{n}" for n in _source_resources()} <= names
    assert _wheel_names(built["wheel_from_sdist"]) == _wheel_names(built["wheel"])


def test_resources_are_found_in_the_installed_wheel(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """Unpacked as pip would, away from the checkout: paths points inside the package."""
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(built["wheel"]) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import alexnet_gui.paths as p; "
        "print(p.__file__); print(p.resource_path('icons', 'alexnet-gui.png')); "
        "print(len(list(p.resource_path('calibration').glob('*.jpg')))); "
        "print(p.source_checkout()); print(p.models_dir())"
    )
    env = {"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path / "data"),
           "HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(site)],
        capture_output=True, text=True, cwd=elsewhere, env=env, timeout=60, check=True,
    )  # fmt: skip
    module, icon, calibration, checkout, models = result.stdout.splitlines()
    assert Path(module).is_relative_to(site)
    assert Path(icon) == site / "alexnet_gui" / "resources" / "icons" / "alexnet-gui.png"
    assert Path(icon).is_file()
    assert int(calibration) == len(list((ROOT / "resources" / "calibration").glob("*.jpg")))
    assert checkout == "None"
    assert Path(models) == tmp_path / "data" / "alexnet-gui" / "models"


# -- paths in each layout, in-process ---------------------------------------------------------


def test_paths_in_the_checkout() -> None:
    assert paths.resources_dir() == ROOT / "resources"
    assert paths.resource_path("icons", "alexnet-gui.png").is_file()
    assert paths.source_checkout() == ROOT


def test_paths_in_an_installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "alexnet_gui"
    (package / "resources" / "icons").mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE_DIR", package)
    monkeypatch.delenv("ALEXNET_GUI_MODELS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.resource_path("icons", "a.png") == package / "resources" / "icons" / "a.png"
    assert paths.source_checkout() is None
    assert paths.models_dir() == tmp_path / "data" / "alexnet-gui" / "models"


def test_paths_in_a_pyinstaller_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_internal"), raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "alexnet-gui"))
    monkeypatch.delenv("ALEXNET_GUI_MODELS", raising=False)
    bundled = tmp_path / "_internal" / "resources"
    assert paths.resource_path("icons", "a.png") == bundled / "icons" / "a.png"
    assert paths.source_checkout() is None
    assert paths.models_dir() == tmp_path / "models"


def test_models_override_wins_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEXNET_GUI_MODELS", str(tmp_path))
    assert paths.models_dir() == tmp_path


# -- supported Pythons and entry points -------------------------------------------------------


def test_supported_pythons_agree_everywhere() -> None:
    project = PYPROJECT["project"]
    assert project["requires-python"] == f">={min(pythons.SUPPORTED, key=_version_key)}"
    classified = {
        c.rsplit(" ", 1)[-1]
        for c in project["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    }
    assert classified == set(pythons.SUPPORTED)
    assert list(pythons.SUPPORTED) == sorted(pythons.SUPPORTED, key=_version_key, reverse=True)
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in pythons.SUPPORTED


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@pytest.mark.parametrize("table", ["scripts", "gui-scripts"])
def test_entry_points_name_real_functions(table: str) -> None:
    for target in PYPROJECT["project"][table].values():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_the_pinned_heavy_wheels_are_what_pythons_py_probes() -> None:
    wanted = pythons.pinned_requirements(ROOT / "pyproject.toml")
    names = {r.split("=")[0].split(">")[0].split("<")[0].lower() for r in wanted}
    assert names == {"torch", "torchvision", "openvino", "pyqt5"}
    assert "torch==2.14.1" in wanted


def _interpreter(version: str) -> object:
    return pythons.Interpreter(version, f"/usr/bin/python{version}", f"{version}.0")


@pytest.mark.parametrize(
    ("sources", "chosen"),
    [
        ({"3.13": "local", "3.12": "local", "3.11": "local"}, "3.13"),  # newest, when all fast
        ({"3.13": "download", "3.12": "download", "3.11": "local"}, "3.11"),  # our machines
        ({"3.13": "download", "3.12": "download", "3.11": "download"}, "3.13"),  # a user's
        ({"3.13": "missing", "3.12": "download", "3.11": "download"}, "3.12"),  # no wheels
        ({"3.13": "unknown", "3.12": "unknown", "3.11": "unknown"}, "3.13"),  # offline
    ],
)
def test_pick_prefers_local_wheels_then_the_newest(
    sources: dict[str, str], chosen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pythons, "wheel_source", lambda i, _r: sources[i.version])
    found = [_interpreter(v) for v in pythons.SUPPORTED]
    picked, why = pythons.pick(found, ["torch==2.14.1"])
    assert picked is not None and picked.version == chosen, why


def test_pick_with_no_interpreter_says_so() -> None:
    picked, why = pythons.pick([], ["torch==2.14.1"])
    assert picked is None and "3.11" in why


def test_an_interpreter_counts_when_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    monkeypatch.setattr(pythons.shutil, "which", lambda _name: sys.executable)
    found = pythons.find(version)
    assert found is not None and found.path == sys.executable
    assert found.full_version.startswith(version + ".")
    monkeypatch.setattr(pythons.shutil, "which", lambda _name: "/nonexistent/python")
    monkeypatch.setenv("PYENV_ROOT", "/nonexistent")
    assert pythons.find(version) is None
