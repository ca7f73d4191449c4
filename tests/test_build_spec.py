"""The PyInstaller bundle's choices (scripts/bundle_config.py, build.spec), checked without
building: hidden imports, excludes, resources, icons, build switches. ``make bundle-test``
builds and runs the real thing."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and friends look modules up by name
    spec.loader.exec_module(module)
    return module


config = _load("bundle_config", ROOT / "scripts" / "bundle_config.py")


def _app_imports() -> set[str]:
    """Every absolute module name imported anywhere in the app (alexnet_gui/, main.py)."""
    found: set[str] = set()
    for path in [ROOT / "main.py", *sorted((ROOT / "alexnet_gui").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def _spec_tree() -> ast.Module:
    return ast.parse((ROOT / "build.spec").read_text(encoding="utf-8"))


def _call(tree: ast.Module, name: str) -> ast.Call:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            return node
    raise AssertionError(f"build.spec does not call {name}()")


def _keyword(call: ast.Call, name: str) -> str:
    for keyword in call.keywords:
        if keyword.arg == name:
            return ast.unparse(keyword.value)
    raise AssertionError(f"{ast.unparse(call.func)}() has no {name}=")


# -- torchvision's compiled operators ----------------------------------------------------------


def test_hidden_imports_name_torchvisions_stable_extensions() -> None:
    hidden = config.hidden_imports()
    assert "torchvision._C_stable" in hidden
    assert "torchvision.image_stable" in hidden


def test_the_installed_torchvision_has_exactly_those_extensions() -> None:
    """If a torchvision upgrade renames them again, this fails before a bundle dies on start."""
    found = config.torchvision_extension_modules()
    assert found, "no compiled modules found in the installed torchvision"
    assert set(found) <= set(config.hidden_imports())
    assert {"torchvision._C_stable", "torchvision.image_stable"} <= set(found)


def test_extension_modules_are_found_by_file_name(tmp_path: Path) -> None:
    suffix = config._extension_suffixes()[-1]
    for name in ("_C_stable", "image_stable", "_C"):
        (tmp_path / f"{name}{suffix}").write_bytes(b"")
    (tmp_path / "extension.py").write_text("")
    (tmp_path / "models").mkdir()
    assert config.torchvision_extension_modules(tmp_path) == [
        "torchvision._C",
        "torchvision._C_stable",
        "torchvision.image_stable",
    ]


def test_the_app_package_is_collected_whole() -> None:
    """The CLI imports ``alexnet_gui.cli.<command>`` by name; PyInstaller cannot see that."""
    assert "alexnet_gui" in config.APP_PACKAGES
    assert "collect_submodules(package)" in (ROOT / "build.spec").read_text(encoding="utf-8")


# -- what is left out --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["triton", "tkinter", "matplotlib", "IPython", "pytest"])
def test_excludes_what_the_app_does_not_use(name: str) -> None:
    assert name in config.excludes()


def test_excludes_nothing_the_app_imports() -> None:
    excluded = set(config.excludes(cpu_only=True))
    for module in sorted(_app_imports()):
        parts = module.split(".")
        prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
        assert not prefixes & excluded, f"the app imports {module}, which the bundle leaves out"


def test_keeps_what_import_torch_needs() -> None:
    """``import torch`` imports torch.testing (and unittest); leaving them out breaks it."""
    excluded = config.excludes()
    for name in ("torch", "torch.testing", "unittest", "torchvision", "PyQt5", "cv2", "numpy"):
        assert name not in excluded


def test_cpu_only_leaves_out_cuda() -> None:
    assert {"nvidia", "cuda"} <= set(config.excludes(cpu_only=True))
    assert not {"nvidia", "cuda"} & set(config.excludes())


@pytest.mark.parametrize(
    ("dest", "is_cuda"),
    [
        ("nvidia/cu13/lib/libcublas.so.13", True),
        ("nvidia/cudnn/lib/libcudnn.so.9", True),
        ("libcudart.so.13", True),
        ("torch/lib/libtorch_cuda.so", True),
        ("torch/lib/c10_cuda.dll", True),
        ("torch/lib/libtorch_cpu.so", False),
        ("torch/lib/libc10.so", False),
        ("libcups.so.2", False),
        ("PyQt5/Qt5/lib/libQt5Core.so.5", False),
        ("torchvision.libs/libjpeg.67fb65bd.so.8", False),
        ("cv2/cv2.abi3.so", False),
    ],
)
def test_cuda_libraries_are_told_apart(dest: str, is_cuda: bool) -> None:
    assert config.is_cuda_library(dest) is is_cuda


def test_without_cuda_filters_toc_entries() -> None:
    toc = [
        ("nvidia/cu13/lib/libcublas.so.13", "/x/libcublas.so.13", "BINARY"),
        ("torch/lib/libtorch_cpu.so", "/x/libtorch_cpu.so", "BINARY"),
    ]
    assert config.without_cuda(toc) == [toc[1]]


def test_torch_cuda_build_is_detected(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    assert not config.torch_has_cuda(tmp_path)
    (tmp_path / "lib" / "libtorch_cuda.so").write_bytes(b"")
    assert config.torch_has_cuda(tmp_path)


# -- resources and icons ----------------------------------------------------------------------


def test_resources_are_collected_with_their_layout() -> None:
    datas = config.resource_datas()
    destinations = {Path(src).name: dest for src, dest in datas}
    assert destinations["alexnet-gui.png"] == str(Path("resources", "icons"))
    assert destinations["chelsea.jpg"] == str(Path("resources", "samples"))
    assert destinations["alexnet-gui.desktop"] == "resources"
    for src, dest in datas:
        relative = Path(src).relative_to(ROOT)
        assert Path(dest) == relative.parent
        assert relative.suffix not in (".py", ".pyc")


def test_resource_collection_skips_scripts_and_caches(tmp_path: Path) -> None:
    (tmp_path / "resources" / "icons" / "__pycache__").mkdir(parents=True)
    (tmp_path / "resources" / "icons" / "app.png").write_bytes(b"png")
    (tmp_path / "resources" / "icons" / "make_icon.py").write_text("")
    (tmp_path / "resources" / "icons" / "__pycache__" / "make_icon.cpython-311.pyc").write_bytes(
        b""
    )
    (tmp_path / "resources" / ".DS_Store").write_bytes(b"")
    (tmp_path / "resources" / "style.qss").write_text("")
    datas = config.resource_datas(tmp_path)
    assert sorted((Path(src).name, dest) for src, dest in datas) == [
        ("app.png", str(Path("resources", "icons"))),
        ("style.qss", "resources"),
    ]


def test_the_bundle_resources_are_where_resource_path_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each collected file, at its destination under sys._MEIPASS, is what
    ``alexnet_gui.paths.resource_path`` returns inside the frozen app."""
    from alexnet_gui import paths

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    datas = config.resource_datas()
    assert datas
    for src, dest in datas:
        parts = Path(src).relative_to(ROOT / "resources").parts
        assert paths.resource_path(*parts) == tmp_path / dest / Path(src).name


@pytest.mark.parametrize(
    ("platform", "suffix"), [("win32", ".ico"), ("darwin", ".icns"), ("linux", ".png")]
)
def test_icon_per_platform(platform: str, suffix: str) -> None:
    icon = config.icon_for(platform)
    assert icon is not None and icon.endswith(suffix)
    assert Path(icon).is_file()


@pytest.mark.parametrize(
    ("platform", "has_icon"), [("win32", True), ("darwin", True), ("linux", False)]
)
def test_executable_icon_only_where_pyinstaller_supports_one(platform: str, has_icon: bool) -> None:
    assert (config.exe_icon(platform) is not None) is has_icon


def test_icon_files_hold_the_sizes_each_platform_wants() -> None:
    icons = ROOT / "resources" / "icons"
    with Image.open(icons / "alexnet-gui.png") as png:
        assert png.size == (256, 256)
    with Image.open(icons / "alexnet-gui-512.png") as png:
        assert png.size == (512, 512)
    with Image.open(icons / "alexnet-gui.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(icons / "alexnet-gui.icns") as icns:
        assert {(512, 512, 2), (256, 256, 1), (16, 16, 2)} <= set(icns.info["sizes"])


def test_sample_image_is_there() -> None:
    with Image.open(ROOT / "resources" / "samples" / "chelsea.jpg") as image:
        assert image.format == "JPEG" and image.size == (451, 300)


def test_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "resources" / "alexnet-gui.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == config.APP_NAME
    assert entry["Exec"].split()[0] == config.EXE_NAME
    assert entry["Icon"] == "alexnet-gui"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    assert "image/jpeg" in entry["MimeType"]


# -- build switches and the spec --------------------------------------------------------------


def test_build_switches_default_to_a_windowed_cuda_build() -> None:
    assert config.build_options({}) == {"console": False, "debug": False, "cpu_only": False}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"ALEXNET_GUI_CONSOLE": "1"}, {"console": True, "debug": False, "cpu_only": False}),
        ({"ALEXNET_GUI_DEBUG": "yes"}, {"console": True, "debug": True, "cpu_only": False}),
        ({"ALEXNET_GUI_CPU_ONLY": "true"}, {"console": False, "debug": False, "cpu_only": True}),
        ({"ALEXNET_GUI_CONSOLE": "0"}, {"console": False, "debug": False, "cpu_only": False}),
        ({"ALEXNET_GUI_CONSOLE": ""}, {"console": False, "debug": False, "cpu_only": False}),
    ],
)
def test_build_switches_from_the_environment(
    environ: dict[str, str], expected: dict[str, bool]
) -> None:
    assert config.build_options(environ) == expected


def test_macos_plist_asks_for_the_camera() -> None:
    plist = config.info_plist("1.2.3")
    assert plist["NSCameraUsageDescription"]
    assert plist["CFBundleShortVersionString"] == "1.2.3"


def test_app_version_matches_the_package() -> None:
    import alexnet_gui

    assert config.app_version() == alexnet_gui.__version__


def test_spec_wires_the_config_in() -> None:
    tree = _spec_tree()
    analysis = _call(tree, "Analysis")
    assert "config.hidden_imports()" in _keyword(analysis, "hiddenimports")
    assert "config.excludes(" in _keyword(analysis, "excludes")
    assert "collect_resources()" in _keyword(analysis, "datas")
    exe = _call(tree, "EXE")
    assert _keyword(exe, "name") == "config.EXE_NAME"
    assert "options['console']" in _keyword(exe, "console")
    assert "options['debug']" in _keyword(exe, "debug")
    assert _keyword(exe, "upx") == "False"
    assert "icon" in _keyword(exe, "icon")
    assert "config.exe_icon(sys.platform)" in (ROOT / "build.spec").read_text(encoding="utf-8")
    assert _keyword(exe, "exclude_binaries") == "True"  # one folder, not one file
    assert _keyword(_call(tree, "COLLECT"), "name") == "config.EXE_NAME"
    bundle = _call(tree, "BUNDLE")
    assert "config.info_plist(" in _keyword(bundle, "info_plist")
    assert "icon_for('darwin')" in _keyword(bundle, "icon")
    functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert "collect_resources" in functions


def test_spec_refuses_a_cpu_only_build_of_a_cuda_torch() -> None:
    text = (ROOT / "build.spec").read_text(encoding="utf-8")
    assert "config.torch_has_cuda()" in text and "CPU_ONLY_NEEDS_CPU_TORCH" in text
    assert "download.pytorch.org/whl/cpu" in config.CPU_ONLY_NEEDS_CPU_TORCH


def test_openvino_keeps_the_cpu_plugin_and_the_pytorch_and_onnx_frontends(tmp_path: Path) -> None:
    """PyTorch's: engines are converted from the model; ONNX's: export checks its ONNX file."""
    libs = tmp_path / "openvino" / "libs"
    libs.mkdir(parents=True)
    names = ["libopenvino.so.2641", "libopenvino_intel_cpu_plugin.so",
             "libopenvino_intel_gpu_plugin.so", "libopenvino_pytorch_frontend.so.2641",
             "libopenvino_onnx_frontend.so.2641", "cache.json", "libtbb.so.12"]
    for name in names:
        (libs / name).write_bytes(b"")
    kept = {Path(src).name: dest for src, dest in config.openvino_binaries(tmp_path / "openvino")}
    assert set(kept) == {"libopenvino.so.2641", "libopenvino_intel_cpu_plugin.so",
                         "libopenvino_pytorch_frontend.so.2641",
                         "libopenvino_onnx_frontend.so.2641", "libtbb.so.12"}
    assert set(kept.values()) == {"openvino/libs"}  # where OpenVINO scans for its plugins
    assert config.openvino_binaries(tmp_path / "missing") == []


def test_the_spec_bundles_openvino() -> None:
    spec = (ROOT / "build.spec").read_text()
    assert "binaries=config.openvino_binaries()" in spec
    assert "collect_openvino()" in spec
    assert "openvino" in config.METADATA_PACKAGES
