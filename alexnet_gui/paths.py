"""Where resources and weight files live, in a source checkout and in a PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _bundle_root() -> Path:
    """The folder that holds ``resources/`` and ``models/``.

    PyInstaller unpacks data next to the executable (``sys._MEIPASS``); from source it is the
    repository root, one level above the package.
    """
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """A file under ``resources/``, wherever the app runs from."""
    return _bundle_root().joinpath("resources", *parts)


def models_dir() -> Path:
    """The ``models/`` folder a user may drop weight files into.

    ``ALEXNET_GUI_MODELS`` overrides it (tests, and users who keep weights elsewhere). In a bundle
    it is the ``models`` folder beside the executable, which a user can write to.
    """
    override = os.environ.get("ALEXNET_GUI_MODELS")
    if override:
        return Path(override)
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent / "models"
    return _bundle_root() / "models"


def _cache_home() -> Path:
    """``$XDG_CACHE_HOME`` or ``~/.cache``, read at every call (tests point it elsewhere)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def torch_hub_checkpoints_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints``, computed as torch.hub does, without importing torch."""
    torch_home = os.environ.get("TORCH_HOME")
    return (Path(torch_home) if torch_home else _cache_home() / "torch") / "hub" / "checkpoints"


def engine_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/alexnet-gui/engines``: converted engines, one folder per weights hash."""
    return _cache_home() / "alexnet-gui" / "engines"


def similarity_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/alexnet-gui/similarity``: Find Similar's fc7 index, one file a folder."""
    return _cache_home() / "alexnet-gui" / "similarity"
