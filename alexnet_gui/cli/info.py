"""``alexnet-gui info``: versions, the device found, and where weights are looked for."""

from __future__ import annotations

import argparse
import platform
from importlib import metadata

from alexnet_gui import __version__

_PACKAGES = ("torch", "torchvision", "PyQt5", "opencv-python-headless", "pillow", "numpy")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="versions, device and where weights are found")
    parser.set_defaults(run=run)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(args: argparse.Namespace) -> int:
    import torch

    from alexnet_gui.core.models.weights import imagenet_search_paths
    from alexnet_gui.paths import models_dir

    print(f"alexnet-gui {__version__} on Python {platform.python_version()} ({platform.system()})")
    for name in _PACKAGES:
        print(f"  {name:<24} {_version(name)}")
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        print(f"device: cuda available ({names}); auto uses cuda")
    else:
        cuda = torch.version.cuda or "none"
        print(f"device: no CUDA GPU found (torch built for CUDA {cuda}); auto uses cpu")
    print("ImageNet weights are looked for in:")
    for path in imagenet_search_paths():
        print(f"  {'[present]' if path.is_file() else '[missing]'} {path}")
    folder = models_dir()
    files = sorted(folder.glob("*.pt*")) if folder.is_dir() else []
    print(f"models folder {folder}: " + (", ".join(p.name for p in files) or "no weight files"))
    return 0
