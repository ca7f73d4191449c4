"""SHA-256 of files, remembered by path, size, mtime and inode, so a start does not re-hash 240 MB.

Why: the engine cache is keyed by the weights file's own SHA-256 (finding an engine then needs
no torch), and its entries' files are checked against their recorded hashes. Hashing AlexNet's
244 MB takes 0.2-0.6 s on a 2-core machine; the memo (a small JSON file in the cache folder)
makes it a ``stat`` call at every later start. A file whose size, mtime or inode changed is
hashed again; one modified in the last few seconds is not remembered yet (its mtime could still
change within the filesystem's timestamp granularity without changing the stamp: "racy git").

Imports neither torch nor numpy; a missing or damaged memo only costs a re-hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MEMO_NAME = "file-hashes.json"
#: Files remembered at most (the oldest are forgotten first).
MEMO_LIMIT = 256
#: A file changed more recently than this is hashed, but its hash is not remembered yet.
RACY_S = 3.0
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def file_stamp(path: Path) -> list[int]:
    """``[size, mtime_ns, inode]``: what tells a remembered hash still holds (OSError if gone)."""
    return _stamp(os.stat(path))


def remembered_sha256(path: Path, memo: Path) -> str:
    """:func:`file_sha256`, from ``memo`` when the file's size, mtime and inode are unchanged.

    Raises OSError when the file cannot be read; problems with the memo are only logged.
    """
    path = Path(path)
    before = os.stat(path)
    name = os.path.realpath(path)
    entries = _read(memo)
    known = entries.get(name)
    if (
        isinstance(known, dict)
        and known.get("stamp") == _stamp(before)
        and isinstance(known.get("sha256"), str)
    ):
        return str(known["sha256"])
    digest = file_sha256(path)
    after = os.stat(path)
    if _stamp(after) == _stamp(before) and time.time() - after.st_mtime > RACY_S:
        entries.pop(name, None)
        entries[name] = {"stamp": _stamp(after), "sha256": digest}
        _write(memo, dict(list(entries.items())[-MEMO_LIMIT:]))
    return digest


def _read(memo: Path) -> dict[str, Any]:
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(memo: Path, entries: dict[str, Any]) -> None:
    """Written aside and renamed, so a reader never sees half a memo; a failure is harmless."""
    aside = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        aside.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(aside, memo)
    except OSError as exc:
        log.info("could not remember file hashes in %s (%s)", memo, exc)
        with contextlib.suppress(OSError):
            aside.unlink(missing_ok=True)
