"""The app's settings, declared once as a frozen dataclass and kept in an INI file via QSettings.

QSettings hands back strings from an INI file (``"true"``, ``"5"``) and collapses one-item lists
into a string, so every field is converted explicitly by its declared type and then validated;
a hand-edited or older file can never put a wrong type into the app. The file lives in
``$XDG_CONFIG_HOME/alexnet-gui/alexnet-gui.ini`` (or the platform's equivalent), computed at each
call, so tests that point ``XDG_CONFIG_HOME`` at a temporary folder never touch a real one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QByteArray, QSettings, QStandardPaths

from alexnet_gui import ORG_NAME
from alexnet_gui.core.engines.names import ENGINES
from alexnet_gui.core.inference.devices import DEVICES

log = logging.getLogger(__name__)

#: Bump when a field changes meaning; :func:`load_settings` then migrates older files.
SCHEMA_VERSION = 1
SCHEMA_KEY = "schema_version"
TOPK_RANGE: tuple[int, int] = (1, 10)
RECENT_LIMIT = 10


@dataclass(frozen=True)
class Settings:
    """Everything the app remembers between runs.

    ``last_model`` is a weights path, or ``""`` for the ImageNet weights. The ``window_*`` and
    ``splitter_state`` blobs are Qt's own ``saveGeometry``/``saveState`` bytes. The live fields
    (``camera_index``, ``mirror``, ``loop_video``, and ``snapshot_folder``, ``""`` until the user
    picks one) came after schema 1 without a bump: they only add keys, and a file without them
    reads as the defaults.
    """

    device: str = "auto"
    topk: int = 5
    tta: bool = False
    last_folder: str = ""
    last_model: str = ""
    recent_files: tuple[str, ...] = ()
    window_geometry: bytes = b""
    window_state: bytes = b""
    splitter_state: bytes = b""
    camera_index: int = 0
    mirror: bool = False
    loop_video: bool = False
    snapshot_folder: str = ""
    inside_tab: int = 0  # the "Inside the network" panel's tab and layer; added the same way
    inside_layer: str = "conv1"
    engine: str = "auto"  # Options > Engine (core.engines.ENGINES); added the same way
    teach_project: str = ""  # the Teach panel's last project folder; added the same way

    def __post_init__(self) -> None:
        # Clamp instead of raising: a bad value in a settings file must not stop the app.
        if self.device not in DEVICES:
            object.__setattr__(self, "device", "auto")
        if self.engine not in ENGINES:
            object.__setattr__(self, "engine", "auto")
        low, high = TOPK_RANGE
        object.__setattr__(self, "topk", max(low, min(high, int(self.topk))))
        object.__setattr__(self, "recent_files", tuple(self.recent_files)[:RECENT_LIMIT])
        object.__setattr__(self, "camera_index", max(0, int(self.camera_index)))

    def with_recent(self, path: str | Path) -> Settings:
        """The same settings with ``path`` first in the recent list (no duplicates)."""
        text = str(path)
        recent = (text, *(p for p in self.recent_files if p != text))
        return dataclasses.replace(self, recent_files=recent[:RECENT_LIMIT])

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def settings_path() -> Path:
    """Where the INI file lives; follows ``XDG_CONFIG_HOME`` on Linux at every call."""
    base = QStandardPaths.writableLocation(QStandardPaths.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / ORG_NAME / f"{ORG_NAME}.ini"


def open_store(path: Path | str | None = None) -> QSettings:
    """A QSettings on an explicit INI file: ``path``, or :func:`settings_path`."""
    store = QSettings(str(path or settings_path()), QSettings.Format.IniFormat)
    store.setFallbacksEnabled(False)
    return store


def load_settings(store: QSettings) -> Settings:
    """Read every field by its declared type; missing or unreadable values keep the default."""
    version = _to_int(store.value(SCHEMA_KEY), 0)
    if version > SCHEMA_VERSION:
        log.warning("settings file is from a newer version (%s); reading what is known", version)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(Settings):
        raw = store.value(item.name)
        if raw is None:
            continue
        try:
            values[item.name] = _LOADERS[str(item.type)](raw)
        except (TypeError, ValueError) as exc:
            log.warning("ignoring setting %s=%r: %s", item.name, raw, exc)
    return Settings(**values)


def save_settings(settings: Settings, store: QSettings) -> None:
    """Write every field in a form :func:`load_settings` reads back exactly."""
    store.setValue(SCHEMA_KEY, SCHEMA_VERSION)
    for item in dataclasses.fields(Settings):
        store.setValue(item.name, _SAVERS[str(item.type)](getattr(settings, item.name)))
    store.sync()
    if store.status() != QSettings.Status.NoError:
        log.warning("could not write the settings file %s", store.fileName())


def _to_int(raw: Any, default: int | None = None) -> int:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        if default is None:
            raise
        return default


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _to_str_tuple(raw: Any) -> tuple[str, ...]:
    items = json.loads(str(raw))
    if not isinstance(items, list):
        raise ValueError("expected a JSON list")
    return tuple(str(item) for item in items)


def _to_bytes(raw: Any) -> bytes:
    if isinstance(raw, QByteArray | bytes | bytearray):
        return bytes(raw)
    raise ValueError(f"not bytes: {type(raw).__name__}")


_LOADERS: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "int": _to_int,
    "bool": _to_bool,
    "tuple[str, ...]": _to_str_tuple,
    "bytes": _to_bytes,
}
_SAVERS: dict[str, Callable[[Any], Any]] = {
    "str": str,
    "int": int,
    "bool": lambda value: "true" if value else "false",
    "tuple[str, ...]": lambda value: json.dumps(list(value)),
    "bytes": QByteArray,
}
