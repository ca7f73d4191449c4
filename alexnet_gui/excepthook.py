"""A ``sys.excepthook`` that logs a traceback and shows one line, instead of aborting.

PyQt5 calls ``qFatal`` (the process aborts) when a slot raises and ``sys.excepthook`` is still
Python's default, so this is installed first thing, before Qt or torch are imported: it only
needs the standard library. The main window registers a reporter to put the line in its message
bar; until then the traceback goes to the log (stderr) alone.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger("alexnet_gui")

Reporter = Callable[[str], None]
_reporters: list[Reporter] = []


def install_excepthook() -> None:
    """Route uncaught exceptions (main thread and Qt slots) to :func:`handle_exception`."""
    sys.excepthook = handle_exception


def add_reporter(reporter: Reporter) -> None:
    """Show future errors to the user too (the main window's message bar)."""
    _reporters.append(reporter)


def remove_reporter(reporter: Reporter) -> None:
    if reporter in _reporters:
        _reporters.remove(reporter)


def handle_exception(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    text = "".join(traceback.format_exception(kind, value, tb))
    log.error("Unexpected error:\n%s", text.rstrip())  # stderr even before logging is set up
    line = f"Unexpected error: {kind.__name__}: {value}. The app keeps running; details in the log."
    for reporter in list(_reporters):
        try:
            reporter(line)
        except Exception:  # a broken reporter must not recurse into this hook
            log.exception("error reporter failed")
