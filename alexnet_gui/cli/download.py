"""``alexnet-gui download``: fetch the ImageNet weights into torch.hub's cache.

The saved path goes to stdout, so a script can capture it; a progress bar (on a terminal) and
"already downloaded" go to stderr. Failures are :class:`DownloadError` lines, printed by the CLI
framework.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from alexnet_gui.cli.progress import progress_bar
from alexnet_gui.core.models.download import download_weights, downloaded_path


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
    """:func:`download_weights`'s progress callback drawn as a tqdm bar (bytes, MB/s, time left).

    Drawn only on a terminal; in a file or a CI log the download is quiet until the path prints.
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None, **options: Any) -> None:
        self._bar = progress_bar(None, "Downloading", unit="B", stream=stream, tty=tty,
                                 unit_scale=True, unit_divisor=1024, **options)

    def update(self, done: int, total: int | None) -> None:
        """Progress callback for :func:`download_weights`."""
        if total and self._bar.total != total:
            self._bar.reset(total)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()
