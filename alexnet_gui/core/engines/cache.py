"""Converted models on disk, keyed by the weights they came from, so a conversion runs once.

An entry is a folder ``<cache>/alexnet-gui/engines/<sha256>-<engine>-<version>/`` holding
the engine's files and a ``manifest.json`` with each file's size and SHA-256 and the facts measured
when it was built: the quality figures, and the speed on this CPU (:mod:`.speed`), which
:meth:`EngineCache.update_info` may refresh later without touching the engine's files. An entry
with no files at all holds facts only (the PyTorch reference's speed). It is written in a
temporary sibling folder and renamed into place, so a crash or a full disk never leaves half an
entry under the real name. ``<sha256>`` is the weights file's own hash (:func:`weights_digest`), so
the fast start path finds an engine without torch; only a model made in memory (training) is
keyed by its state (:func:`state_digest`). Hashes of big files are remembered by path, size,
mtime and inode in a memo beside the root (:mod:`alexnet_gui.core.models.filehash`). A
manifest that is missing or unreadable, or a file whose hash does not match, makes the entry
count as absent: the caller rebuilds it instead of crashing on a damaged model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alexnet_gui.core.models.filehash import (
    MEMO_NAME,
    file_sha256,
    file_stamp,
    remembered_sha256,
)
from alexnet_gui.core.models.spec import weights_file_facts
from alexnet_gui.paths import engine_cache_dir

if TYPE_CHECKING:
    from torch import nn

    from alexnet_gui.core.models.spec import WeightsSpec

__all__ = [
    "MANIFEST",
    "CacheEntry",
    "EngineCache",
    "cache_root",
    "file_sha256",
    "state_digest",
    "weights_digest",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def cache_root() -> Path:
    """Where converted engines live (:func:`alexnet_gui.paths.engine_cache_dir`)."""
    return engine_cache_dir()


def state_digest(model: nn.Module, *, extra: str = "") -> str:
    """SHA-256 of every parameter and buffer (name, dtype, shape, bytes), plus ``extra``.

    Why the state and not the file: the same weights reach us as an ImageNet file, a plain
    state_dict or a checkpoint; they convert to the same engine whatever the wrapper.
    """
    import torch

    digest = hashlib.sha256(extra.encode())
    for name, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def weights_digest(spec: WeightsSpec, cache: EngineCache | None = None) -> str | None:
    """The SHA-256 of the file ``spec`` was loaded from, if that file is still the one loaded.

    None for a model made in memory, or when the file changed or vanished since it was read
    (its engines are then keyed by the state, :func:`state_digest`): an engine converted from
    the loaded model must never be stored under the hash of other bytes.
    """
    facts = weights_file_facts(spec)
    if facts is None:
        return None
    path, stamp = Path(str(facts.get("path"))), facts.get("stamp")
    cache = cache or EngineCache()
    try:
        if file_stamp(path) != stamp:
            log.info("%s changed since it was loaded; its engines are keyed by its state", path)
            return None
        digest = remembered_sha256(path, cache.memo)
        return digest if file_stamp(path) == stamp else None
    except OSError as exc:
        log.info("cannot hash %s (%s); its engines are keyed by its state", path, exc)
        return None


@dataclass(frozen=True)
class CacheEntry:
    """A complete, verified entry: its folder and the facts its builder recorded."""

    folder: Path
    info: Mapping[str, Any]


class EngineCache:
    """Entries under one root folder; every method tolerates a damaged or vanished entry."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root()

    @property
    def memo(self) -> Path:
        """The file-hash memo (:mod:`alexnet_gui.core.models.filehash`) of this cache: beside
        the root, so the root holds entries only."""
        return self.root.parent / MEMO_NAME

    def file_digest(self, path: Path) -> str:
        """A file's SHA-256, remembered in :attr:`memo` (OSError if it cannot be read)."""
        return remembered_sha256(path, self.memo)

    def folder(self, key: str) -> Path:
        return self.root / key

    def load(self, key: str) -> CacheEntry | None:
        """The entry if it is complete and every file matches its recorded hash, else ``None``.

        A damaged entry is removed, so the next :meth:`store` can put a good one in its place.
        """
        folder = self.folder(key)
        if not folder.is_dir():
            return None
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            files: Mapping[str, Mapping[str, Any]] = manifest["files"]
            for name, facts in files.items():
                path = folder / name
                size_ok = path.stat().st_size == int(facts["size"])
                if not size_ok or self.file_digest(path) != facts["sha256"]:
                    raise ValueError(f"{name} does not match its recorded hash")
            return CacheEntry(folder, dict(manifest.get("info", {})))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("engine cache entry %s is damaged (%s); rebuilding it", folder.name, exc)
            self.discard(key)
            return None

    def peek(self, key: str) -> Mapping[str, Any] | None:
        """The facts of an entry, read from its manifest alone (no hashing): cheap enough to
        rank every engine of a model at each start. :meth:`load` still verifies the one used."""
        try:
            manifest = json.loads((self.folder(key) / MANIFEST).read_text(encoding="utf-8"))
            info = manifest["info"]
            return dict(info) if isinstance(info, dict) else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def update_info(self, key: str, facts: Mapping[str, Any]) -> bool:
        """Merge ``facts`` into an entry's manifest (a new speed); ``False`` if it is gone.

        The manifest is replaced whole (written aside, then renamed), so a reader never sees half
        of it; the files it lists, and their hashes, are unchanged.
        """
        path = self.folder(key) / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            manifest["info"] = {**manifest.get("info", {}), **facts}
            aside = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
            aside.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            os.replace(aside, path)
            return True
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("could not record new facts in engine cache entry %s (%s)", key, exc)
            return False

    def store(self, key: str, write: Callable[[Path], Mapping[str, Any]]) -> CacheEntry:
        """Run ``write(folder)`` in a temporary folder, hash what it wrote, rename it into place.

        ``write`` returns the facts to keep in the manifest (agreement, build time...). If another
        process stored the same key meanwhile, its entry wins and ours is thrown away.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{key[:16]}-", suffix=".tmp", dir=self.root))
        try:
            info = dict(write(temporary))
            files = {
                path.name: {"size": path.stat().st_size, "sha256": file_sha256(path)}
                for path in sorted(temporary.iterdir())
                if path.is_file()
            }
            manifest = {"key": key, "files": files, "info": info}
            (temporary / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            _fsync_folder(temporary)
            final = self.folder(key)
            if final.exists():
                self.discard(key)
            try:
                os.rename(temporary, final)
            except OSError:
                if not final.is_dir():  # not a lost race: a real failure
                    raise
                shutil.rmtree(temporary, ignore_errors=True)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        entry = self.load(key)
        if entry is None:
            raise OSError(f"the engine cache entry {key} could not be read back")
        return entry

    def discard(self, key: str) -> None:
        """Remove an entry: renamed aside first, so a half-deleted folder never looks valid."""
        folder = self.folder(key)
        if not folder.exists():
            return
        trash = folder.with_name(f".{folder.name}.{os.getpid()}.trash")
        try:
            os.rename(folder, trash)
        except OSError:
            trash = folder
        shutil.rmtree(trash, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    """Flush the files of ``folder`` to disk before the rename makes them visible."""
    for path in folder.iterdir():
        try:
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        except OSError:
            pass
