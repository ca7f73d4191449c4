"""The CLI's one kind of progress bar: tqdm on stderr, drawn only when stderr is a terminal.

``classify``, ``download`` and ``train`` all use :func:`progress_bar`. Into a file, a pipe or a CI
log nothing is drawn (a redrawn bar would leave hundreds of fragments there); results and errors
still go to stdout and stderr as lines.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm  # type: ignore[import-untyped]


def progress_bar(total: float | None, desc: str, *, unit: str = "it", stream: TextIO | None = None,
                 tty: bool | None = None, **options: Any) -> tqdm:
    """A bar on ``stream`` (stderr); disabled unless it is a terminal (``tty`` overrides)."""
    stream = sys.stderr if stream is None else stream
    live = _isatty(stream) if tty is None else tty
    return tqdm(total=total, desc=desc, unit=unit, file=stream, disable=not live,
                leave=False, dynamic_ncols=True, **options)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False
