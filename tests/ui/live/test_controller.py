"""Cameras and videos in the real window: real capture and inference threads, a random model.

A camera here is a ``FakeCamera`` injected through the capture client; a video is a clip
written by cv2.VideoWriter (tests/fixtures/video.py). Every test fails if a thread is left
running (tests/ui/conftest.py). Speed is measured by ``benchmarks/live.py``, never asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.settings import load_settings
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.live.actions import NO_CAMERA
from alexnet_gui.ui.live.controller import NO_CAMERA_MESSAGE
from alexnet_gui.workers.capture_client import CaptureClient
from tests.fixtures.video import CLIP_SIZE, FakeCamera, clip_frame
from tests.ui.helpers import TIMEOUT, wait_result

pytestmark = pytest.mark.integration


@pytest.fixture
def live_window(qtbot, make_main_window, state_dict_file):
    """Builds a started window (random model loaded) whose cameras are ``FakeCamera``s."""

    def make(*, cameras: tuple[int, ...] = (0,), **camera_options):
        capture = CaptureClient(
            capture_factory=lambda target, api: FakeCamera(target, api, **camera_options),
            probe=lambda in_use: list(cameras),
        )
        window = make_main_window(capture=capture)
        with qtbot.waitSignal(window.inference.model_loaded, timeout=TIMEOUT), \
                qtbot.waitSignal(capture.cameras_found, timeout=TIMEOUT):
            window.start(weights=str(state_dict_file))
        return window, capture

    return make


def play(qtbot, window, capture, monkeypatch, video: Path, *, loop: bool = True) -> None:
    """File > Open Video with the dialog answered; returns once the stream has started."""
    monkeypatch.setattr(dialogs, "open_video", lambda parent, directory: video)
    if window.live.actions.loop.isChecked() != loop:
        window.live.actions.loop.trigger()
    with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT):
        window.live.actions.open_video.trigger()


def wait_overlaid_frames(qtbot, window, count: int = 3) -> None:
    qtbot.waitUntil(lambda: window.live.meter.counters.frames_painted_with_overlay >= count,
                    timeout=TIMEOUT)


def test_a_video_plays_with_the_latest_overlay_and_live_figures(qtbot, live_window, monkeypatch,
                                                                video_file):
    window, capture = live_window()
    pictures: list[object] = []
    monkeypatch.setattr(window.view, "show_image", lambda *args, **kwargs: pictures.append(args))
    play(qtbot, window, capture, monkeypatch, video_file)
    assert window.windowTitle() == "clip.avi - AlexNet GUI"
    wait_overlaid_frames(qtbot, window)
    qtbot.waitUntil(lambda: window.live.meter.latencies and "Capture" in window.status.live.text()
                    and "Capture – fps" not in window.status.live.text(), timeout=TIMEOUT)
    counters = window.live.meter.counters
    assert counters.frames_shown >= counters.results_shown >= 1
    assert window.result.name == "clip.avi" and len(window.view.scores) == 5
    assert window.view.scores == window.result.prediction.scores
    assert pictures == [], "a result's picture was painted over the stream"
    assert window.settings.loop_video
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        window.live.actions.stop.trigger()
    assert not capture.is_running()
    assert window.status.live.text() == "" and not window.live.actions.stop.isEnabled()
    shown = counters.frames_shown
    qtbot.wait(200)
    assert counters.frames_shown == shown


def test_freeze_holds_the_frame_and_results_still_arrive(qtbot, live_window, monkeypatch,
                                                         video_file):
    window, capture = live_window()
    play(qtbot, window, capture, monkeypatch, video_file)
    wait_overlaid_frames(qtbot, window, 1)
    window.live.actions.freeze.trigger()
    assert capture.is_frozen() and window.live.actions.freeze.isChecked()
    shown = window.live.meter.counters.frames_shown
    qtbot.wait(400)
    assert window.live.meter.counters.frames_shown == shown
    # the frozen frame's own result arrives and is painted on it
    frozen = capture.latest_frame
    qtbot.waitUntil(lambda: window.live.latest_result is not None
                    and window.live.latest_result[1] == frozen.index, timeout=TIMEOUT)
    window.live.actions.freeze.trigger()
    qtbot.waitUntil(lambda: window.live.meter.counters.frames_shown > shown, timeout=TIMEOUT)
    assert window.live.actions.freeze.shortcut().toString() == "Space"


def test_a_camera_that_fails_mid_stream_is_survived_and_restarts(qtbot, live_window):
    window, capture = live_window(fail_after=20, fps=60)
    with qtbot.waitSignal(capture.stream_failed, timeout=TIMEOUT):
        window.live.actions.start_camera.trigger()
    assert window.live.meter.counters.frames_shown >= 1
    assert window.messages.isVisible()
    assert window.messages.text.startswith("Camera 0 stopped sending pictures")
    assert not capture.is_running() and not window.live.actions.stop.isEnabled()
    assert window.view.has_image  # the last frame stays; the window is still usable
    with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT):
        window.live.actions.start_camera.trigger()
    qtbot.waitUntil(lambda: window.live.meter.counters.frames_shown >= 2, timeout=TIMEOUT)
    with qtbot.waitSignal(capture.stream_failed, timeout=TIMEOUT):
        pass  # and it fails again, just as cleanly


def test_opening_a_still_image_stops_the_stream(qtbot, live_window, monkeypatch, video_file,
                                                chelsea_png):
    window, capture = live_window()
    play(qtbot, window, capture, monkeypatch, video_file)
    wait_overlaid_frames(qtbot, window, 1)
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        result = wait_result(qtbot, window, lambda: window.open_paths([chelsea_png]),
                             name="chelsea.png")
    assert not capture.is_running() and not window.live.showing
    assert window.view.scores == result.prediction.scores
    assert window.windowTitle() == "chelsea.png - AlexNet GUI"


def test_snapshot_saves_the_frame_and_its_result(qtbot, live_window, monkeypatch, tmp_path):
    window, capture = live_window(frame=clip_frame(4), fps=30)
    folder = tmp_path / "snaps"
    folder.mkdir()
    monkeypatch.setattr(dialogs, "choose_snapshot_folder", lambda parent, directory: folder)
    window.live.actions.start_camera.trigger()
    wait_overlaid_frames(qtbot, window, 1)
    window.live.actions.freeze.trigger()
    window.live.actions.snapshot.trigger()
    assert window.settings.snapshot_folder == str(folder)
    monkeypatch.setattr(dialogs, "choose_snapshot_folder", _must_not_ask)
    window.live.actions.snapshot.trigger()  # the folder is remembered: no second question
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 2 and len(list(folder.glob("*.json"))) == 2
    assert not list(folder.glob("*.tmp"))
    np.testing.assert_array_equal(np.asarray(Image.open(pngs[0]).convert("RGB")), clip_frame(4))
    record = json.loads(pngs[0].with_suffix(".json").read_text())
    assert record["source"] == "Camera 0" and record["image"] == pngs[0].name
    assert len(record["predictions"]) == 5 and record["model"]["name"] == "alexnet-random.pth"
    assert (record["width"], record["height"]) == CLIP_SIZE
    assert record["result_frame"] <= record["frame"]
    window.live.actions.stop.trigger()
    qtbot.waitUntil(lambda: not capture.is_running(), timeout=TIMEOUT)


def _must_not_ask(*_args: object) -> Path:
    raise AssertionError("the snapshot folder was asked for again")


def test_closing_the_window_during_a_stream_joins_every_thread(qtbot, live_window, monkeypatch,
                                                               video_file):
    window, capture = live_window()
    play(qtbot, window, capture, monkeypatch, video_file)
    wait_overlaid_frames(qtbot, window, 1)
    window.close()
    assert not capture.is_running()
    assert not window.inference.thread.isRunning()


def test_no_camera_gives_a_message_and_a_disabled_menu_item(qtbot, live_window):
    window, capture = live_window(cameras=())
    menu = window.live.actions.menu
    items = {a.text(): a for a in menu.actions() if a.isVisible()}
    assert NO_CAMERA in items and not items[NO_CAMERA].isEnabled()
    assert not window.live.actions.cameras
    with qtbot.waitSignal(capture.cameras_found, timeout=TIMEOUT):
        window.live.actions.start_camera.trigger()  # looks again, in case one was plugged in
    assert window.messages.isVisible() and window.messages.text == NO_CAMERA_MESSAGE
    assert not capture.is_running()


def test_cameras_mirror_and_loop_are_listed_and_remembered(qtbot, live_window, settings_store):
    still = clip_frame(1)
    window, capture = live_window(cameras=(0, 2), frame=still, fps=60)
    actions = window.live.actions
    assert sorted(actions.cameras) == [0, 2] and actions.cameras[0].isChecked()
    actions.cameras[2].trigger()
    actions.mirror.trigger()
    with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT) as started:
        actions.start_camera.trigger()
    assert started.args[0].name == "Camera 2"
    qtbot.waitUntil(lambda: capture.latest_frame is not None, timeout=TIMEOUT)
    np.testing.assert_array_equal(capture.latest_frame.rgb, still[:, ::-1])  # mirrored
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        actions.stop.trigger()
    actions.loop.trigger()
    saved = load_settings(settings_store)
    assert (saved.camera_index, saved.mirror, saved.loop_video) == (2, True, True)
