"""``alexnet-gui download``: fetch the ImageNet weights into torch.hub's cache.

The saved path goes to stdout, so a script can capture it; progress and "already downloaded" go
to stderr. Failures are :class:`DownloadError` lines, printed by the CLI framework.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from alexnet_gui.core.models.download import download_weights, downloaded_path

_MB = 1024 * 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download the ImageNet weights (233 MB, checked against their SHA-256)",
        description=(
            "Download torchvision's ImageNet AlexNet weights into torch.hub's cache, where the "
            "app finds them. Nothing is saved unless the whole file arrives and its SHA-256 fits."
        ),
    )
    parser.add_argument(
        "--url",
        metavar="URL",
        help=(
            "download from this address instead of download.pytorch.org, e.g. a mirror when that "
            "site is blocked; a file named without a hash prefix must match the official hash"
        ),
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        type=Path,
        help="save into DIR instead of torch.hub's cache ($TORCH_HOME/hub/checkpoints)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    present = downloaded_path(args.url, dest_dir=args.dir)
    if present is not None:
        print(f"Already downloaded: {present}", file=sys.stderr)
        print(present)
        return 0
    bar = ProgressBar(sys.stderr)
    try:
        path = download_weights(args.url, dest_dir=args.dir, progress=bar.update)
    finally:
        bar.close()
    print(path)
    return 0


class ProgressBar:
    """Percentage, MB done / total and MB/s, for a terminal or a log.

    On a terminal one line is redrawn with ``\\r``. Redrawing into a file or a CI log would leave
    hundreds of fragments, so there a full line is written every 10 % (every 10 MB when the server
    did not say how big the file is).
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._start = time.monotonic()
        self._next_step = 1
        self._width = 0

    def update(self, done: int, total: int | None) -> None:
        """Progress callback for :func:`download_weights`."""
        text = self._text(done, total)
        if self._tty:
            self._stream.write("\r" + text.ljust(self._width))
            self._width = max(self._width, len(text))
        else:
            step = done * 10 // total if total else done // (10 * _MB)
            if step < self._next_step:
                return
            self._next_step = step + 1
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        """End a redrawn line, so that whatever is printed next starts on its own line."""
        if self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0

    def _text(self, done: int, total: int | None) -> str:
        elapsed = time.monotonic() - self._start
        speed = f"{done / _MB / elapsed:.1f} MB/s" if elapsed > 0 else "- MB/s"
        if not total:
            return f"Downloading {done / _MB:.1f} MB  {speed}"
        percent = 100 * done // total
        return f"Downloading {percent:3d}%  {done / _MB:.1f} / {total / _MB:.1f} MB  {speed}"
