"""Download the ImageNet weights into torch.hub's cache: streamed, checked, atomic.

torch.hub's ``download_url_to_file`` cannot be cancelled from the GUI and fails with tracebacks.
Here every failure is one :class:`DownloadError` line, and the cache never holds a half-written or
unchecked file: bytes go to ``<name>.partial``, which is renamed only after the size and the
SHA-256 prefix in the file name have been checked, and deleted on any failure. This module
imports neither torch nor Qt, so the CLI and the UI can use it cheaply.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from alexnet_gui import __version__
from alexnet_gui.core.errors import DownloadError
from alexnet_gui.core.models import imagenet
from alexnet_gui.paths import torch_hub_checkpoints_dir

ProgressCallback = Callable[[int, int | None], None]

#: torch.hub's rule for the hash prefix in a file name, with ``+`` instead of ``*``: an empty
#: prefix would let any file pass.
HASH_REGEX = re.compile(r"-([a-f0-9]+)\.")
CHUNK_SIZE = 64 * 1024
PROGRESS_INTERVAL_S = 0.1
_MB = 1024 * 1024
_NOTHING_SAVED = "nothing was saved. Try again."


def download_weights(
    url: str | None = None,
    *,
    dest_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download a weights file unless a good copy is already there; return its path.

    Args:
        url: Where to download from; the official torchvision URL by default. A mirror may rename
            the file: without a hash prefix in its name it is saved under the official name and
            checked against the official prefix, so the app still finds it.
        dest_dir: Folder to save into; torch.hub's cache by default, where torchvision looks too.
        progress: Called with (bytes done, total or None) about ten times a second and at the end.
        is_cancelled: Polled between chunks; returning True stops the download.
        timeout: Seconds to wait for the connection and for each chunk.

    Raises:
        DownloadError: On any failure, after deleting the partial file.
    """
    url = url or _official_url()
    final, prefix = _target(url, dest_dir)
    if _hash_matches(final, prefix):
        return final
    partial = final.with_name(final.name + ".partial")
    try:
        if is_cancelled is not None and is_cancelled():
            raise DownloadError("Download cancelled; nothing was saved.")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f"Cannot create {final.parent}: {exc.strerror or exc}.") from exc
        with _open(url, final.name, timeout) as response:
            total = _content_length(response)
            got, done = _stream(response, partial, total, progress, is_cancelled, timeout)
        if total is not None and done < total:
            raise DownloadError(f"Download cut off after {_size(done, total)}; {_NOTHING_SAVED}")
        if not got.startswith(prefix):
            raise DownloadError(
                f"Downloaded file does not match its SHA-256 (expected {prefix}..., "
                f"got {got[: len(prefix)]}...); nothing was saved."
            )
        try:
            os.replace(partial, final)
        except OSError as exc:
            raise DownloadError(f"Cannot save {final}: {exc.strerror or exc}.") from exc
    except BaseException:  # KeyboardInterrupt too: never leave a partial file behind
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
    return final


def downloaded_path(url: str | None = None, *, dest_dir: Path | None = None) -> Path | None:
    """The file ``download_weights(url, dest_dir=...)`` would return, if it is already good.

    Lets the CLI and the GUI say "already downloaded" without starting a download.
    """
    final, prefix = _target(url or _official_url(), dest_dir)
    return final if _hash_matches(final, prefix) else None


def _official_url() -> str:
    return imagenet.URL


def _official_file_name() -> str:
    return imagenet.FILE_NAME


def _target(url: str, dest_dir: Path | None) -> tuple[Path, str]:
    """The final path and the expected SHA-256 prefix for ``url``."""
    # Unquote before splitting so that an encoded "%2F" cannot climb out of dest_dir.
    name = re.split(r"[\\/]", unquote(urlsplit(url).path))[-1]
    match = HASH_REGEX.search(name)
    if match is None or name in (".", ".."):
        name = _official_file_name()
        match = HASH_REGEX.search(name)
        assert match is not None
    return (dest_dir or torch_hub_checkpoints_dir()) / name, match.group(1)


def _hash_matches(path: Path, prefix: str) -> bool:
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while block := file.read(_MB):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest().startswith(prefix)


def _open(url: str, name: str, timeout: float) -> http.client.HTTPResponse:
    host = urlsplit(url).netloc or url
    try:
        request = urllib.request.Request(url, headers={"User-Agent": f"alexnet-gui/{__version__}"})
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DownloadError(
            f"{host} answered HTTP {exc.code} {exc.reason} for {name}; nothing was saved."
        ) from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise DownloadError(f"No answer from {host} within {timeout:g} s (offline?).") from exc
        detail = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise DownloadError(f"Cannot reach {host} (offline?): {detail}.") from exc
    except ValueError as exc:
        raise DownloadError(f"Not a download address: {url}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"Cannot download from {host}: {exc}.") from exc


def _content_length(response: http.client.HTTPResponse) -> int | None:
    try:
        length = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


def _stream(
    response: http.client.HTTPResponse,
    partial: Path,
    total: int | None,
    progress: ProgressCallback | None,
    is_cancelled: Callable[[], bool] | None,
    timeout: float,
) -> tuple[str, int]:
    """Copy the body into ``partial`` (truncating a stale one); return its SHA-256 and size."""
    digest = hashlib.sha256()
    done = 0
    last_report = time.monotonic()
    if progress is not None:
        progress(0, total)
    try:
        with partial.open("wb") as file:
            while True:
                if is_cancelled is not None and is_cancelled():
                    raise DownloadError("Download cancelled; nothing was saved.")
                try:
                    chunk = response.read(CHUNK_SIZE)
                except TimeoutError as exc:
                    raise DownloadError(
                        f"Download stalled for {timeout:g} s after {_size(done, total)}; "
                        f"{_NOTHING_SAVED}"
                    ) from exc
                except (OSError, http.client.HTTPException) as exc:
                    raise DownloadError(
                        f"Download cut off after {_size(done, total)}; {_NOTHING_SAVED}"
                    ) from exc
                if not chunk:
                    break
                file.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                now = time.monotonic()
                if progress is not None and now - last_report >= PROGRESS_INTERVAL_S:
                    progress(done, total)
                    last_report = now
            file.flush()
            os.fsync(file.fileno())  # the rename must not publish a file still in the page cache
    except OSError as exc:  # read errors became DownloadError above; these are disk errors
        raise DownloadError(f"Cannot write {partial}: {exc.strerror or exc}.") from exc
    if progress is not None:
        progress(done, total)
    return digest.hexdigest(), done


def _size(done: int, total: int | None) -> str:
    if total is None:
        return f"{done / _MB:.1f} MB"
    return f"{done / _MB:.1f} of {total / _MB:.1f} MB"
