"""Camera frames are on screen from the first one, before the model is ready."""

from __future__ import annotations

import threading

import pytest

from alexnet_gui.app import build_gui
from alexnet_gui.workers.capture_client import CaptureClient
from tests.fixtures.video import FakeCamera
from tests.ui.helpers import TIMEOUT

pytestmark = pytest.mark.integration


def test_camera_frames_show_while_the_model_is_still_loading(qtbot, qthread_guard, settings_store,
                                                             cached_loader, state_dict_file):
    gate = threading.Event()

    def slow_loader(weights, device):  # "torch is still loading" until the test says
        assert gate.wait(TIMEOUT / 1000)
        return cached_loader(weights, device)

    capture = CaptureClient(capture_factory=lambda target, api: FakeCamera(target, api),
                            probe=lambda in_use: [0])
    gui = build_gui(store=settings_store, loader=slow_loader, capture=capture)
    qtbot.addWidget(gui.window)
    gui.window.show()
    view = gui.window.view
    try:
        gui.start(weights=str(state_dict_file))
        with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT):
            gui.live.start_camera()
        qtbot.waitUntil(lambda: gui.live.meter.counters.frames_painted >= 3, timeout=TIMEOUT)
        assert gui.session.model is None and view.showing_live and view.has_image
        assert view.note == "classifying…" and view.scores == ()
        gate.set()
        qtbot.waitUntil(lambda: gui.live.meter.counters.frames_painted_with_overlay >= 1,
                        timeout=TIMEOUT)
        assert view.scores and view.note is None
    finally:
        gate.set()
        gui.window.close()
    assert not gui.session.inference.thread.isRunning()
