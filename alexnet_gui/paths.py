"""Where resources and weight files live: in a checkout, an installed wheel, a PyInstaller bundle.

``resources/`` is a top-level folder of the repository. The wheel carries it as
``alexnet_gui/resources/`` (pyproject.toml maps it there), and PyInstaller unpacks it as
``resources/`` beside the libraries (``sys._MEIPASS``; scripts/bundle_config.py). The
:func:`resources_dir` helper finds it in each of the three layouts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def _bundle_root() -> Path:
    """The folder that holds a bundle's ``resources/``: ``sys._MEIPASS`` (PyInstaller unpacks
    data there), or the folder of the executable."""
    return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))


def resources_dir() -> Path:
    """The ``resources/`` folder: the bundle's, the installed package's, or the checkout's."""
    if _is_frozen():
        return _bundle_root() / "resources"
    installed = _PACKAGE_DIR / "resources"  # a wheel puts it inside the package
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "resources"  # a checkout, editable installs included


def resource_path(*parts: str) -> Path:
    """A file under ``resources/``, wherever the app runs from."""
    return resources_dir().joinpath(*parts)


def source_checkout() -> Path | None:
    """The repository root when the package runs from a checkout (its ``resources/`` and
    ``pyproject.toml`` beside the package), else None (an installed wheel, a bundle)."""
    if _is_frozen():
        return None
    root = _PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "resources").is_dir():
        return root
    return None


def _data_home() -> Path:
    """``$XDG_DATA_HOME`` or ``~/.local/share``, read at every call."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def models_dir() -> Path:
    """The ``models/`` folder a user may drop weight files into.

    ``ALEXNET_GUI_MODELS`` overrides it (tests, and users who keep weights elsewhere). In a bundle
    it is the ``models`` folder beside the executable, which a user can write to; in a checkout
    the repository's ``models/``; in an installed package (whose folder is site-packages, not
    the user's) ``$XDG_DATA_HOME/alexnet-gui/models`` (``~/.local/share/...``).
    """
    override = os.environ.get("ALEXNET_GUI_MODELS")
    if override:
        return Path(override)
    if _is_frozen():
        return Path(sys.executable).resolve().parent / "models"
    checkout = source_checkout()
    if checkout is not None:
        return checkout / "models"
    return _data_home() / "alexnet-gui" / "models"


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
