"""Small helpers for driving the real main window in tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PyQt5.QtGui import QDragEnterEvent, QDropEvent
from PyQt5.QtWidgets import QApplication

TIMEOUT = 30_000


def window_with_fake_camera(qtbot, make_gui, weights: Path):
    """A main window whose camera 0 is a FakeCamera, its model loaded and the camera probed."""
    from alexnet_gui.workers.capture_client import CaptureClient
    from tests.fixtures.video import FakeCamera

    capture = CaptureClient(capture_factory=lambda target, api: FakeCamera(target, api),
                            probe=lambda in_use: [0])
    gui = make_gui(capture=capture)
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT), \
            qtbot.waitSignal(capture.cameras_found, timeout=TIMEOUT):
        gui.start(weights=str(weights))
    return gui, capture


def wait_result(qtbot, gui, action: Callable[[], Any], *, name: str | None = None,
                classified: bool = True):
    """Run ``action`` and wait until the window shows a result (for ``name``, if given)."""

    def wanted(result) -> bool:
        return (name is None or result.name == name) and (
            not classified or result.prediction is not None
        )

    shown = gui.session.result_shown
    with qtbot.waitSignal(shown, timeout=TIMEOUT, check_params_cb=wanted) as blocker:
        action()
    return blocker.args[0]


def url_mime(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def drop(gui, mime: QMimeData) -> bool:
    """Drag ``mime`` over ``gui``'s window and drop it, as a file manager would; was it accepted?"""
    enter = QDragEnterEvent(QPoint(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(gui.window, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(gui.window, event)
    return event.isAccepted()
