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
def live_window(qtbot, make_gui, state_dict_file):
    """Builds a started window (random model loaded) whose cameras are ``FakeCamera``s."""

    def make(*, cameras: tuple[int, ...] = (0,), **camera_options):
        capture = CaptureClient(
            capture_factory=lambda target, api: FakeCamera(target, api, **camera_options),
            probe=lambda in_use: list(cameras),
        )
        gui = make_gui(capture=capture)
        with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT),\
                qtbot.waitSignal(capture.cameras_found, timeout=TIMEOUT):
            gui.start(weights=str(state_dict_file))
        return gui, capture

    return make


def play(qtbot, gui, capture, monkeypatch, video: Path, *, loop: bool = True) -> None:
    """File > Open Video with the dialog answered; returns once the stream has started."""
    monkeypatch.setattr(dialogs, "open_video", lambda parent, directory: video)
    if gui.live.actions.loop.isChecked() != loop:
        gui.live.actions.loop.trigger()
    with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT):
        gui.live.actions.open_video.trigger()


def wait_overlaid_frames(qtbot, gui, count: int = 3) -> None:
    qtbot.waitUntil(lambda: gui.live.meter.counters.frames_painted_with_overlay >= count,
                    timeout=TIMEOUT)


def test_a_video_plays_with_the_latest_overlay_and_live_figures(qtbot, live_window, monkeypatch,
                                                                video_file):
    gui, capture = live_window()
    pictures: list[object] = []
    monkeypatch.setattr(gui.window.view, "show_image",
                        lambda *args, **kwargs: pictures.append(args))
    play(qtbot, gui, capture, monkeypatch, video_file)
    assert gui.window.windowTitle() == "clip.avi - AlexNet GUI"
    wait_overlaid_frames(qtbot, gui)
    qtbot.waitUntil(lambda: gui.live.meter.latencies and "Capture" in gui.window.status.live.text()
                    and "Capture – fps" not in gui.window.status.live.text(), timeout=TIMEOUT)
    counters = gui.live.meter.counters
    assert counters.frames_shown >= counters.results_shown >= 1
    assert gui.session.result.name == "clip.avi" and len(gui.window.view.scores) == 5
    assert gui.window.view.scores == gui.session.result.prediction.scores
    assert pictures == [], "a result's picture was painted over the stream"
    assert gui.session.settings.loop_video
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        gui.live.actions.stop.trigger()
    assert not capture.is_running()
    assert gui.window.status.live.text() == "" and not gui.live.actions.stop.isEnabled()
    shown = counters.frames_shown
    qtbot.wait(200)
    assert counters.frames_shown == shown


def test_freeze_holds_the_frame_and_results_still_arrive(qtbot, live_window, monkeypatch,
                                                         video_file):
    gui, capture = live_window()
    play(qtbot, gui, capture, monkeypatch, video_file)
    wait_overlaid_frames(qtbot, gui, 1)
    gui.live.actions.freeze.trigger()
    assert capture.is_frozen() and gui.live.actions.freeze.isChecked()
    shown = gui.live.meter.counters.frames_shown
    qtbot.wait(1400)  # a rate measured meanwhile must not bring "Capture 30 fps" back
    assert gui.live.meter.counters.frames_shown == shown
    assert gui.window.status.live.text() == "Frozen"
    # the frozen frame's own result arrives and is painted on it
    frozen = capture.latest_frame
    qtbot.waitUntil(lambda: gui.live.latest_result is not None
                    and gui.live.latest_result[1] == frozen.index, timeout=TIMEOUT)
    gui.live.actions.freeze.trigger()
    qtbot.waitUntil(lambda: gui.live.meter.counters.frames_shown > shown, timeout=TIMEOUT)
    assert gui.live.actions.freeze.shortcut().toString() == "Space"


def test_a_camera_that_fails_mid_stream_is_survived_and_restarts(qtbot, live_window):
    gui, capture = live_window(fail_after=20, fps=60)
    with qtbot.waitSignal(capture.stream_failed, timeout=TIMEOUT):
        gui.live.actions.start_camera.trigger()
    assert gui.live.meter.counters.frames_shown >= 1
    assert gui.window.messages.isVisible()
    assert gui.window.messages.text.startswith("Camera 0 stopped sending pictures")
    assert not capture.is_running() and not gui.live.actions.stop.isEnabled()
    assert gui.window.view.has_image  # the last frame stays; the window is still usable
    with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT):
        gui.live.actions.start_camera.trigger()
    qtbot.waitUntil(lambda: gui.live.meter.counters.frames_shown >= 2, timeout=TIMEOUT)
    with qtbot.waitSignal(capture.stream_failed, timeout=TIMEOUT):
        pass  # and it fails again, just as cleanly


def test_opening_a_still_image_stops_the_stream(qtbot, live_window, monkeypatch, video_file,
                                                chelsea_png):
    gui, capture = live_window()
    play(qtbot, gui, capture, monkeypatch, video_file)
    wait_overlaid_frames(qtbot, gui, 1)
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        result = wait_result(qtbot, gui, lambda: gui.browse.open_paths([chelsea_png]),
                             name="chelsea.png")
    assert not capture.is_running() and not gui.live.showing
    assert gui.window.view.scores == result.prediction.scores
    assert gui.window.windowTitle() == "chelsea.png - AlexNet GUI"


def test_snapshot_saves_the_frame_and_its_result(qtbot, live_window, monkeypatch, tmp_path):
    gui, capture = live_window(frame=clip_frame(4), fps=30)
    folder = tmp_path / "snaps"
    folder.mkdir()
    monkeypatch.setattr(dialogs, "choose_snapshot_folder", lambda parent, directory: folder)
    gui.live.actions.start_camera.trigger()
    wait_overlaid_frames(qtbot, gui, 1)
    gui.live.actions.freeze.trigger()
    gui.live.actions.snapshot.trigger()
    assert gui.session.settings.snapshot_folder == str(folder)
    monkeypatch.setattr(dialogs, "choose_snapshot_folder", _must_not_ask)
    gui.live.actions.snapshot.trigger()  # the folder is remembered: no second question
    qtbot.wait(300)  # results keep arriving for the frozen frame: the line must stay
    said = gui.window.statusBar().currentMessage()
    assert said.startswith("Saved snapshot-") and said.endswith(f" in {folder}")
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == 2 and len(list(folder.glob("*.json"))) == 2
    assert not list(folder.glob("*.tmp"))
    np.testing.assert_array_equal(np.asarray(Image.open(pngs[0]).convert("RGB")), clip_frame(4))
    record = json.loads(pngs[0].with_suffix(".json").read_text())
    assert record["source"] == "Camera 0" and record["image"] == pngs[0].name
    assert len(record["predictions"]) == 5 and record["model"]["name"] == "alexnet-random.pth"
    assert (record["width"], record["height"]) == CLIP_SIZE
    assert record["result_frame"] <= record["frame"]
    gui.live.actions.stop.trigger()
    qtbot.waitUntil(lambda: not capture.is_running(), timeout=TIMEOUT)


def _must_not_ask(*_args: object) -> Path:
    raise AssertionError("the snapshot folder was asked for again")


def test_closing_the_window_during_a_stream_joins_every_thread(qtbot, live_window, monkeypatch,
                                                               video_file):
    gui, capture = live_window()
    play(qtbot, gui, capture, monkeypatch, video_file)
    wait_overlaid_frames(qtbot, gui, 1)
    gui.window.close()
    assert not capture.is_running()
    assert not gui.session.inference.thread.isRunning()


def test_no_camera_gives_a_message_and_a_disabled_menu_item(qtbot, live_window):
    gui, capture = live_window(cameras=())
    menu = gui.live.actions.menu
    items = {a.text(): a for a in menu.actions() if a.isVisible()}
    assert NO_CAMERA in items and not items[NO_CAMERA].isEnabled()
    assert not gui.live.actions.cameras
    with qtbot.waitSignal(capture.cameras_found, timeout=TIMEOUT):
        gui.live.actions.start_camera.trigger()  # looks again, in case one was plugged in
    assert gui.window.messages.isVisible() and gui.window.messages.text == NO_CAMERA_MESSAGE
    assert not capture.is_running()


def test_cameras_mirror_and_loop_are_listed_and_remembered(qtbot, live_window, settings_store):
    still = clip_frame(1)
    gui, capture = live_window(cameras=(0, 2), frame=still, fps=60)
    actions = gui.live.actions
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
