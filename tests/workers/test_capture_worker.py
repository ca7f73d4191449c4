"""CaptureWorker on a real QThread, fed by video files and fake cameras.

Every test joins its worker in the fixture's teardown and fails if a thread is left running.
Timeouts are generous: the suite shares two CPU cores, and speed is measured by
``benchmarks/capture.py``, never asserted here.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
from PyQt5.QtWidgets import QApplication

from alexnet_gui.core.imaging.video import SourceInfo
from alexnet_gui.workers.capture_worker import CapturedFrame, CaptureWorker
from tests.fixtures.video import (
    BACKGROUNDS,
    CLIP_SIZE,
    SHORT_CLIP_FRAMES,
    FakeCamera,
    clip_frame,
)

pytestmark = pytest.mark.integration
WAIT_MS = 5000


@pytest.fixture
def make_worker(qtbot):
    """Builds CaptureWorkers; after the test each is stopped and must have joined its thread."""
    workers: list[CaptureWorker] = []

    def make(**kwargs) -> tuple[CaptureWorker, list[CapturedFrame]]:
        worker = CaptureWorker(**kwargs)
        frames: list[CapturedFrame] = []
        worker.frame_captured.connect(frames.append)
        workers.append(worker)
        return worker, frames

    yield make
    for worker in workers:
        assert worker.shutdown(), "capture thread still running after stop()"
        assert not worker.is_running()


def _camera(**kwargs):
    """A capture factory that makes a FakeCamera for whatever index is asked for."""
    return lambda target, api: FakeCamera(target, api, **kwargs)


def _background_matches(frame: CapturedFrame, clip_index: int) -> bool:
    corner = frame.rgb[2:8, 2:8].reshape(-1, 3).mean(axis=0)
    return bool(np.all(np.abs(corner - BACKGROUNDS[clip_index % 3]) <= 25))


def test_file_streams_rgb_frames_then_finishes(make_worker, qtbot, short_video_file):
    worker, frames = make_worker()
    with qtbot.waitSignal(worker.stream_started, timeout=WAIT_MS) as started:
        worker.start(short_video_file)
    info: SourceInfo = started.args[0]
    assert (info.width, info.height) == CLIP_SIZE and info.name == "short.avi"
    assert worker.source_info == info

    with qtbot.waitSignal(worker.stream_finished, timeout=WAIT_MS):
        pass
    assert not worker.is_running()
    assert frames, "no frame reached the GUI thread"
    assert all(f.source_id == info.source_id for f in frames)
    assert all(f.rgb.shape == (CLIP_SIZE[1], CLIP_SIZE[0], 3) for f in frames)
    assert all(not f.rgb.flags.writeable for f in frames)
    assert all(_background_matches(f, f.index) for f in frames)  # right frame, RGB order
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices)) and indices[-1] == SHORT_CLIP_FRAMES - 1
    stamps = [f.timestamp for f in frames]
    assert stamps == sorted(stamps)
    assert worker.latest_frame is frames[-1]


def test_paced_file_is_measured_near_its_own_rate(make_worker, qtbot, video_file):
    worker, _ = make_worker()
    with qtbot.waitSignal(worker.fps_measured, timeout=WAIT_MS) as measured:
        worker.start(video_file, loop=True)
    # 30 fps nominal; unpaced, this clip decodes at hundreds of frames per second.
    assert 10.0 < measured.args[0] < 60.0


def test_loop_keeps_a_file_playing_past_its_end(make_worker, qtbot, short_video_file):
    worker, frames = make_worker()
    finished: list[bool] = []
    worker.stream_finished.connect(lambda: finished.append(True))
    worker.start(short_video_file, loop=True)
    qtbot.waitUntil(
        lambda: bool(frames) and frames[-1].index >= 2 * SHORT_CLIP_FRAMES, timeout=WAIT_MS
    )
    assert not finished and worker.is_running()
    assert all(_background_matches(f, f.index % SHORT_CLIP_FRAMES) for f in frames)
    with qtbot.waitSignal(worker.stream_finished, timeout=WAIT_MS):
        worker.stop()


def test_mirror_can_be_switched_while_streaming(make_worker, qtbot):
    still = clip_frame(0)
    worker, frames = make_worker(capture_factory=_camera(frame=still, fps=60))
    worker.start(0)
    qtbot.waitUntil(lambda: len(frames) >= 1, timeout=WAIT_MS)
    np.testing.assert_array_equal(frames[-1].rgb, still)
    worker.set_mirrored(True)
    assert worker.is_mirrored()
    qtbot.waitUntil(lambda: np.array_equal(frames[-1].rgb, still[:, ::-1]), timeout=WAIT_MS)


def test_freeze_holds_frames_back_and_unfreeze_resumes(make_worker, qtbot):
    worker, frames = make_worker(capture_factory=_camera(fps=100))
    worker.start(0)
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=WAIT_MS)
    worker.set_frozen(True)
    count = len(frames)
    qtbot.wait(300)
    assert len(frames) == count and worker.is_frozen()
    assert worker.is_running()  # a frozen camera is still read, only not shown
    worker.set_frozen(False)
    qtbot.waitUntil(lambda: len(frames) > count, timeout=WAIT_MS)
    assert frames[-1].index > frames[count - 1].index + 5  # fresh, not the buffered next one


def test_frozen_file_keeps_its_place(make_worker, qtbot, video_file):
    worker, frames = make_worker()
    worker.start(video_file)
    qtbot.waitUntil(lambda: len(frames) >= 3, timeout=WAIT_MS)
    worker.set_frozen(True)
    last = frames[-1].index
    qtbot.wait(400)
    worker.set_frozen(False)
    qtbot.waitUntil(lambda: frames[-1].index > last, timeout=WAIT_MS)
    assert frames[-1].index - last <= 3  # playback resumed where it paused, 12 frames later


def test_a_stalled_gui_gets_only_the_newest_frame(make_worker, qtbot):
    worker, frames = make_worker(capture_factory=_camera(fps=200))
    worker.start(0)
    qtbot.waitUntil(lambda: len(frames) >= 1, timeout=WAIT_MS)
    seen, last = len(frames), frames[-1].index
    time.sleep(0.5)  # the GUI thread is busy: about 100 frames are read meanwhile
    QApplication.processEvents()
    delivered = frames[seen:]
    assert 1 <= len(delivered) <= 3, "frames queued up for the GUI"
    assert delivered[0].index - last >= 10
    assert worker.dropped_frames >= 10


def test_camera_that_fails_mid_stream_reports_and_ends(make_worker, qtbot, video_file):
    worker, frames = make_worker(capture_factory=_camera(fail_after=5, fps=100))
    with qtbot.waitSignal(worker.stream_failed, timeout=WAIT_MS) as failed:
        worker.start(0)
    message = failed.args[0]
    assert message.startswith("Camera 0 stopped sending pictures") and "\n" not in message
    assert not worker.is_running()  # the thread has ended when the signal arrives
    assert len(frames) <= 5

    # Start again works: the worker is reusable after a failure.
    worker._capture_factory = None
    worker.start(video_file)
    qtbot.waitUntil(lambda: any(f.source_id.startswith("file:") for f in frames), timeout=WAIT_MS)


def test_unopenable_sources_fail_with_the_file_name(
    make_worker, qtbot, corrupt_video_file, empty_video_file
):
    worker, _ = make_worker()
    started: list[object] = []
    worker.stream_started.connect(started.append)
    for path in (corrupt_video_file, empty_video_file):
        with qtbot.waitSignal(worker.stream_failed, timeout=WAIT_MS) as failed:
            worker.start(path)
        assert failed.args[0].startswith(path.name)
    assert not started


def test_bug_in_the_loop_becomes_stream_failed_not_a_crash(make_worker, qtbot):
    camera = FakeCamera(fail_after=1)
    camera.get = functools.partial(_raise, RuntimeError("boom"))  # type: ignore[method-assign]
    worker, _ = make_worker(capture_factory=lambda target, api: camera)
    with qtbot.waitSignal(worker.stream_failed, timeout=WAIT_MS) as failed:
        worker.start(0)
    assert failed.args[0] == "Capture stopped unexpectedly: boom"
    assert camera.released


def _raise(exc: Exception, *args: object) -> None:
    raise exc


def test_stop_joins_the_thread_and_no_frame_arrives_after_it(make_worker, qtbot):
    worker, frames = make_worker(capture_factory=_camera(fps=100))
    worker.start(0)
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=WAIT_MS)
    with qtbot.waitSignal(worker.stream_finished, timeout=WAIT_MS):
        worker.stop()
        count = len(frames)
        assert worker.wait(3000)
        assert not worker.is_running()
    qtbot.wait(100)
    assert len(frames) == count


def test_start_while_running_replaces_the_stream(make_worker, qtbot, short_video_file):
    worker, frames = make_worker(capture_factory=_camera(fps=100))
    finished: list[bool] = []
    worker.stream_finished.connect(lambda: finished.append(True))
    worker.start(0)
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=WAIT_MS)
    worker._capture_factory = None
    worker.start(short_video_file)
    switched = len(frames)
    with qtbot.waitSignal(worker.stream_finished, timeout=WAIT_MS):
        pass
    assert finished == [True]  # only the file's end; the replaced camera's end is not news
    assert all(f.source_id.startswith("file:") for f in frames[switched:])


def test_shutdown_without_start_is_harmless(make_worker):
    worker, _ = make_worker()
    assert worker.shutdown() and not worker.is_running()
    assert worker.latest_frame is None and worker.source_info is None
