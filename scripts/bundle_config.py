"""What goes into the PyInstaller bundle: data shared by ``build.spec`` and its unit test.

Nothing here imports PyInstaller, torch or Qt, so ``tests/test_build_spec.py`` can check the
choices in milliseconds. ``build.spec`` adds this folder to ``sys.path`` and imports it.

Build switches, read from the environment when the spec runs (``1``, ``true``, ``yes``, ``on``):

``ALEXNET_GUI_CONSOLE``
    Build a console executable. On Windows a windowed executable has no console at all, so the
    command line (``alexnet-gui classify ...``) prints nothing; build with this for a CLI. On
    Linux and macOS stdout works either way.
``ALEXNET_GUI_DEBUG``
    The bootloader prints what it does, and the executable is a console one.
``ALEXNET_GUI_CPU_ONLY``
    Leave the CUDA libraries (``nvidia/*``, ``cuda``) out. Only possible with a CPU build of
    torch: the CUDA wheels link ``libtorch_cuda`` against cudart, cuBLAS, cuDNN... so torch
    would not import without them. With a CUDA torch the spec stops and says how to get the CPU
    wheel.
"""

from __future__ import annotations

import fnmatch
import importlib.machinery
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

APP_NAME = "AlexNet GUI"
EXE_NAME = "alexnet-gui"
ENTRY_SCRIPT = "main.py"
BUNDLE_IDENTIFIER = "org.alexnet-gui.AlexNetGUI"
CAMERA_USAGE = (
    "AlexNet GUI classifies the frames of your camera on this computer; nothing is recorded or "
    "sent anywhere."
)

CONSOLE_ENV = "ALEXNET_GUI_CONSOLE"
DEBUG_ENV = "ALEXNET_GUI_DEBUG"
CPU_ONLY_ENV = "ALEXNET_GUI_CPU_ONLY"

# torchvision 0.29 loads its operators from ``torchvision/_C_stable`` and ``image_stable``
# (``extension._load_library``, a file search beside the package); the hooks shipped with
# PyInstaller name the old ``torchvision._C`` / ``torchvision.image``. Without the extension,
# ``import torchvision`` dies with "operator torchvision::nms does not exist".
TORCHVISION_EXTENSIONS = ("_C_stable", "image_stable")

# The app's own packages: every module goes in, because the command line imports its sub-command
# modules by name (importlib.import_module("alexnet_gui.cli." + name)), which PyInstaller cannot
# follow.
APP_PACKAGES: tuple[str, ...] = ("alexnet_gui",)

# Modules the app never imports. triton (900 MB) is torch.compile's GPU backend; torch imports it
# only if it is there. torch.testing cannot go: ``import torch`` imports it.
EXCLUDES: tuple[str, ...] = (
    "triton",
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "ipykernel",
    "jupyter_client",
    "notebook",
    "pytest",
    "_pytest",
    "pytestqt",
    "pluggy",
    "iniconfig",
    "scipy",
    "skimage",
    "pandas",
    "tensorboard",
    "torch.utils.tensorboard",
    "setuptools",
    "pkg_resources",
    "PyInstaller",
    "ruff",
    "importlinter",
    "grimp",
    "PyQt5.QtWebEngine",
    "PyQt5.QtWebEngineCore",
    "PyQt5.QtWebEngineWidgets",
    "PyQt5.QtQml",
    "PyQt5.QtQuick",
    "PyQt5.QtMultimedia",
    "PyQt5.QtBluetooth",
    "PyQt5.QtDesigner",
)

# Left out as well in a CPU-only build (see ALEXNET_GUI_CPU_ONLY).
CPU_ONLY_EXCLUDES: tuple[str, ...] = ("nvidia", "cuda")

# Dist metadata ``alexnet-gui info`` reads with importlib.metadata.
METADATA_PACKAGES: tuple[str, ...] = (
    "torch",
    "torchvision",
    "PyQt5",
    "opencv-python-headless",
    "pillow",
    "numpy",
    "openvino",
)

# OpenVINO (the fast CPU engine): packages imported while a model is converted, which PyInstaller
# cannot see, and the shared libraries its core finds by scanning openvino/libs at run time.
OPENVINO_SUBMODULE_PACKAGES: tuple[str, ...] = ("openvino.frontend.pytorch", "openvino.tools.ovc")
OPENVINO_HIDDEN_IMPORTS: tuple[str, ...] = (
    "openvino.frontend.tensorflow",
    "openvino._offline_transformations",
)
# Plugins and frontends the app never uses (GPU/NPU devices, other model formats), and the GPU
# kernel cache: about 60 MB left out. The ONNX frontend stays: export checks its ONNX file with it.
OPENVINO_LIB_EXCLUDES: tuple[str, ...] = (
    "*intel_gpu_plugin*",
    "*intel_npu_plugin*",
    "cache.json",
    "*.pc",
    "*gguf_frontend*",
    "*jax_frontend*",
    "*paddle_frontend*",
    "*tensorflow_lite_frontend*",
)

# resources/ files that stay behind: scripts that draw resources, caches.
RESOURCE_EXCLUDES: tuple[str, ...] = ("*.py", "*.pyc", "__pycache__", ".*")

# Shared libraries of CUDA, by file name (a CPU-only build drops any that still turn up).
_CUDA_LIBRARY_PATTERNS = (
    "libcuda.so*",
    "libcudart*",
    "libcublas*",
    "libcudnn*",
    "libcufft*",
    "libcufile*",
    "libcupti*",
    "libcurand*",
    "libcusolver*",
    "libcusparse*",
    "libnccl*",
    "libnvrtc*",
    "libnvJitLink*",
    "libnvToolsExt*",
    "libnvtx*",
    "libnvjpeg*",
    "libnvshmem*",
    "libtorch_cuda*",
    "libtorch_nvshmem*",
    "libc10_cuda*",
    "libcaffe2_nvrtc*",
    "cudart64_*.dll",
    "cublas*64_*.dll",
    "cudnn*.dll",
    "cufft*64_*.dll",
    "curand64_*.dll",
    "cusolver*64_*.dll",
    "cusparse64_*.dll",
    "nvrtc*.dll",
    "nvJitLink*.dll",
    "torch_cuda*.dll",
    "c10_cuda.dll",
)

_TRUE = frozenset({"1", "true", "yes", "on"})


def env_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the build switch ``name`` is set to a true value."""
    env = os.environ if environ is None else environ
    return env.get(name, "").strip().lower() in _TRUE


def build_options(environ: Mapping[str, str] | None = None) -> dict[str, bool]:
    """console, debug and cpu_only from the environment; debug implies a console."""
    debug = env_flag(DEBUG_ENV, environ)
    return {
        "console": env_flag(CONSOLE_ENV, environ) or debug,
        "debug": debug,
        "cpu_only": env_flag(CPU_ONLY_ENV, environ),
    }


def app_version(root: Path = REPO_ROOT) -> str:
    """``__version__`` from ``alexnet_gui/__init__.py``, read without importing the package."""
    text = (root / "alexnet_gui" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if match is None:
        raise RuntimeError("no __version__ in alexnet_gui/__init__.py")
    return match.group(1)


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _is_extension(path: Path) -> bool:
    return path.is_file() and any(path.name.endswith(s) for s in _extension_suffixes())


def _extension_suffixes() -> list[str]:
    return importlib.machinery.EXTENSION_SUFFIXES


def torchvision_extension_modules(package_dir: Path | None = None) -> list[str]:
    """The compiled modules at torchvision's top level, as dotted names.

    For torchvision 0.29: ``torchvision._C_stable`` and ``torchvision.image_stable``. They are
    made hidden imports, so PyInstaller copies them to ``torchvision/`` in the bundle, where
    ``torchvision.extension`` looks for them (and follows their libraries: libtorch, libjpeg...).
    """
    folder = package_dir if package_dir is not None else _package_dir("torchvision")
    if folder is None or not folder.is_dir():
        return []
    names = set()
    for path in folder.iterdir():
        if _is_extension(path):
            stem = path.name
            for suffix in sorted(_extension_suffixes(), key=len, reverse=True):
                if stem.endswith(suffix):
                    stem = stem[: -len(suffix)]
                    break
            names.add(f"torchvision.{stem}")
    return sorted(names)


def hidden_imports(package_dir: Path | None = None) -> list[str]:
    """Hidden imports: torchvision's compiled operators, whatever their names in this version.

    The 0.29 names are always listed, so that a torchvision without them fails the build's
    warnings check loudly instead of producing an app that dies on start.
    """
    found = torchvision_extension_modules(package_dir)
    wanted = [f"torchvision.{name}" for name in TORCHVISION_EXTENSIONS]
    return sorted(set(found) | set(wanted))


def openvino_binaries(package_dir: Path | None = None) -> list[tuple[str, str]]:
    """``(source, dest folder)`` for OpenVINO's libraries, kept in ``openvino/libs``."""
    package_dir = package_dir or _package_dir("openvino")
    libs = package_dir / "libs" if package_dir is not None else None
    if libs is None or not libs.is_dir():
        return []
    return [
        (str(path), "openvino/libs")
        for path in sorted(libs.iterdir())
        if path.is_file()
        and not any(fnmatch.fnmatch(path.name, pattern) for pattern in OPENVINO_LIB_EXCLUDES)
    ]


def excludes(cpu_only: bool = False) -> list[str]:
    """Modules to leave out."""
    return list(EXCLUDES) + (list(CPU_ONLY_EXCLUDES) if cpu_only else [])


def _skip_resource(relative: Path) -> bool:
    return any(
        fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in RESOURCE_EXCLUDES
    )


def resource_datas(root: Path = REPO_ROOT) -> list[tuple[str, str]]:
    """``(source file, destination folder)`` for every file under ``resources/``.

    The destinations keep the layout, so ``alexnet_gui.paths.resource_path("icons", ...)``
    finds the same files in the bundle (under ``sys._MEIPASS``) as in a checkout.
    """
    base = root / "resources"
    datas = []
    for path in sorted(base.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(base)
        if _skip_resource(relative):
            continue
        datas.append((str(path), str(Path("resources", *relative.parts[:-1]))))
    return datas


def icon_for(platform: str = sys.platform, root: Path = REPO_ROOT) -> str | None:
    """The icon file for the executable: ``.ico`` on Windows, ``.icns`` on macOS, else PNG."""
    if platform.startswith("win"):
        name = "alexnet-gui.ico"
    elif platform == "darwin":
        name = "alexnet-gui.icns"
    else:
        name = "alexnet-gui.png"
    path = root / "resources" / "icons" / name
    return str(path) if path.is_file() else None


def exe_icon(platform: str = sys.platform, root: Path = REPO_ROOT) -> str | None:
    """The icon PyInstaller puts on the executable: none on Linux, which has no such thing (the
    desktop entry and the window icon show ``alexnet-gui.png`` there)."""
    if platform.startswith("win") or platform == "darwin":
        return icon_for(platform, root)
    return None


def info_plist(version: str) -> dict[str, object]:
    """The macOS Info.plist entries; without NSCameraUsageDescription macOS kills the app the
    moment it opens the camera."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSCameraUsageDescription": CAMERA_USAGE,
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,
        "LSApplicationCategoryType": "public.app-category.education",
    }


def torch_has_cuda(package_dir: Path | None = None) -> bool:
    """Whether the installed torch is a CUDA build (it ships libtorch_cuda / torch_cuda.dll)."""
    folder = package_dir if package_dir is not None else _package_dir("torch")
    if folder is None:
        return False
    lib = folder / "lib"
    return any((lib / name).exists() for name in ("libtorch_cuda.so", "torch_cuda.dll"))


CPU_ONLY_NEEDS_CPU_TORCH = (
    "ALEXNET_GUI_CPU_ONLY=1 needs the CPU build of torch: this torch is a CUDA build, and its "
    "libtorch_cuda links against the CUDA libraries, so torch would not import without them. "
    "In a separate virtual environment: pip install torch==2.14.1 torchvision==0.29.1 "
    "--index-url https://download.pytorch.org/whl/cpu, then pip install -e . and build there."
)


def is_cuda_library(dest_name: str) -> bool:
    """Whether a collected binary (its path in the bundle) is part of CUDA."""
    parts = Path(dest_name).parts
    if parts and parts[0] in CPU_ONLY_EXCLUDES:
        return True
    name = parts[-1] if parts else dest_name
    return any(fnmatch.fnmatch(name, pattern) for pattern in _CUDA_LIBRARY_PATTERNS)


def without_cuda(entries: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """TOC entries ``(dest, source, typecode)`` less the CUDA libraries."""
    return [entry for entry in entries if not is_cuda_library(entry[0])]
