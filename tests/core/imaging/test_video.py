"""core.imaging.video without Qt: files and fake cameras in, RGB frames or one-line errors out."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
import pytest

from alexnet_gui.core.errors import VideoSourceError
from alexnet_gui.core.imaging.pacing import FpsMeter, FramePacer
from alexnet_gui.core.imaging.video import (
    open_camera,
    open_file,
    open_source,
    probe_cameras,
    to_rgb,
)
from tests.fixtures.video import (
    BACKGROUNDS,
    CLIP_FPS,
    CLIP_FRAMES,
    CLIP_SIZE,
    SHORT_CLIP_FRAMES,
    FailingCapture,
    FakeCamera,
    clip_frame,
)


def _background(rgb: np.ndarray) -> tuple[int, ...]:
    """The colour of the frame's top-left corner, which no shape ever covers."""
    return tuple(int(v) for v in rgb[2:8, 2:8].reshape(-1, 3).mean(axis=0))


def _is_close(colour: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 25) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def _read_all(source, limit: int = 1000) -> list[np.ndarray]:
    frames = []
    while (frame := source.read()) is not None and len(frames) < limit:
        frames.append(frame)
    return frames


def test_file_gives_rgb_frames_of_the_clip_size(video_file):
    with open_file(video_file) as source:
        info = source.info
        frames = [source.read() for _ in range(3)]

    assert (info.width, info.height) == CLIP_SIZE
    assert info.fps == pytest.approx(CLIP_FPS)
    assert info.frame_count == CLIP_FRAMES
    assert info.is_file and info.name == "clip.avi"
    assert info.source_id == f"file:{video_file.resolve()}"
    for index, frame in enumerate(frames):
        assert frame.shape == (CLIP_SIZE[1], CLIP_SIZE[0], 3) and frame.dtype == np.uint8
        # Red, green, blue backgrounds in that order: channels are RGB, not OpenCV's BGR.
        assert _is_close(_background(frame), BACKGROUNDS[index]), (index, _background(frame))


def test_file_plays_to_its_end_then_returns_none(short_video_file):
    with open_file(short_video_file) as source:
        frames = _read_all(source)
        assert source.read() is None
    assert len(frames) == SHORT_CLIP_FRAMES


def test_loop_restarts_at_the_first_frame(short_video_file):
    with open_file(short_video_file) as source:
        source.loop = True
        frames = [source.read() for _ in range(SHORT_CLIP_FRAMES * 2 + 1)]
    assert all(frame is not None for frame in frames)
    np.testing.assert_array_equal(frames[SHORT_CLIP_FRAMES], frames[0])
    np.testing.assert_array_equal(frames[2 * SHORT_CLIP_FRAMES], frames[0])


def test_loop_reopens_the_file_when_the_backend_cannot_seek(short_video_file):
    created: list[FailingCapture] = []

    def cannot_seek(target, api):
        capture = FailingCapture(target, api, fail_after=10**6)
        capture.set = lambda prop, value: False  # type: ignore[method-assign]
        created.append(capture)
        return capture

    with open_file(short_video_file, capture_factory=cannot_seek) as source:
        source.loop = True
        frames = [source.read() for _ in range(SHORT_CLIP_FRAMES + 1)]
    np.testing.assert_array_equal(frames[SHORT_CLIP_FRAMES], frames[0])
    assert len(created) == 2


def test_mirror_flips_left_to_right_and_can_change_between_reads(video_file):
    with open_file(video_file) as plain, open_file(video_file) as mirrored:
        mirrored.mirror = True
        first, first_mirrored = plain.read(), mirrored.read()
        mirrored.mirror = False
        second, second_unmirrored = plain.read(), mirrored.read()
    np.testing.assert_array_equal(first_mirrored, first[:, ::-1])
    assert not np.array_equal(first_mirrored, first)  # the clip is not symmetric
    np.testing.assert_array_equal(second_unmirrored, second)


def test_paced_playback_runs_near_the_clip_rate(video_file):
    """Loose on purpose: proves the pacer waits, not how precisely (benchmarks measure that)."""
    frames = 16
    pacer = FramePacer(CLIP_FPS)
    with open_file(video_file) as source:
        start = time.perf_counter()
        for _ in range(frames):
            time.sleep(pacer.delay(time.perf_counter()))
            source.read()
        elapsed = time.perf_counter() - start
    nominal = (frames - 1) / CLIP_FPS  # 0.5 s; unpaced decoding takes a few milliseconds
    assert nominal * 0.8 < elapsed < nominal * 6


def test_pacer_schedule_and_no_burst_after_falling_behind():
    pacer = FramePacer(10.0)
    assert pacer.delay(0.0) == 0.0
    assert pacer.delay(0.02) == pytest.approx(0.08)
    assert pacer.delay(0.1) == pytest.approx(0.1)
    # 0.5 s late: start again from now instead of returning three zero delays in a row.
    assert pacer.delay(0.7) == 0.0
    assert pacer.delay(0.7) == pytest.approx(0.1)
    pacer.reset()
    assert pacer.delay(5.0) == 0.0


@pytest.mark.parametrize("fps", [0.0, -1.0, float("nan"), 10_000.0])
def test_pacer_falls_back_to_default_rate_for_nonsense_fps(fps):
    assert FramePacer(fps).interval == pytest.approx(1 / 30)


def test_fps_meter_reports_about_once_per_period():
    meter = FpsMeter(period=1.0)
    reports = [meter.tick(i / 20) for i in range(61)]  # 20 fps for 3 s
    rates = [rate for rate in reports if rate is not None]
    assert len(rates) == 3
    assert rates == pytest.approx([20.0] * 3)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("corrupt_video_file", "not a video file"),
        ("empty_video_file", "no frames"),
    ],
)
def test_corrupt_and_zero_frame_files_fail_at_open(request, fixture, expected):
    path: Path = request.getfixturevalue(fixture)
    with pytest.raises(VideoSourceError) as caught:
        open_file(path)
    message = str(caught.value)
    assert message.startswith(path.name) and expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda folder: folder / "missing.avi", "file not found"),
        (lambda folder: folder, "is a folder"),
        (lambda folder: _write(folder / "zero.avi", b""), r"empty \(0 bytes\)"),
        (lambda folder: _write(folder / "notes.avi", b"just some text\n" * 50), "not a video"),
    ],
)
def test_unusable_paths_fail_at_open_with_a_clear_message(tmp_path, make, expected):
    with pytest.raises(VideoSourceError, match=expected):
        open_source(make(tmp_path))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_file_failing_mid_stream_is_reported_as_damaged(video_file):
    factory = functools.partial(FailingCapture, fail_after=10)
    with open_file(video_file, capture_factory=factory) as source:
        source.loop = True  # a damaged file must not be mistaken for its end and looped
        frames = [source.read() for _ in range(10)]
        with pytest.raises(
            VideoSourceError, match=r"clip\.avi: the video is damaged after frame 10"
        ):
            source.read()
    assert all(frame is not None for frame in frames)


def test_camera_failing_mid_stream_raises_a_clear_error():
    camera = FakeCamera(fail_after=5, fps=1000)
    with open_source(0, capture_factory=lambda target, api: camera) as source:
        assert source.info.source_id == "camera:0" and not source.info.is_file
        assert source.info.fps is None  # the fake, like many webcams, reports 0
        frames = [source.read() for _ in range(5)]
        with pytest.raises(VideoSourceError) as caught:
            source.read()
    assert [_is_close(_background(f), BACKGROUNDS[i % 3]) for i, f in enumerate(frames)] == [
        True
    ] * 5
    assert str(caught.value).startswith("Camera 0 stopped sending pictures")
    assert camera.released


def test_camera_that_does_not_open_or_sends_nothing():
    with pytest.raises(VideoSourceError, match="Camera 3 could not be opened"):
        open_camera(3, capture_factory=lambda target, api: FakeCamera(target, opens=False))
    silent = FakeCamera(fail_after=0)
    with pytest.raises(VideoSourceError, match="Camera 1 sent no picture"):
        open_camera(1, capture_factory=lambda target, api: silent, warmup_s=0.1)
    assert silent.released


def test_real_camera_index_fails_cleanly_here():
    """This machine has no camera: opening one is an error message, not a crash or a hang."""
    with pytest.raises(VideoSourceError, match="Camera 0"):
        open_camera(0, warmup_s=0.1)


def test_probe_finds_no_camera_here_quickly():
    start = time.perf_counter()
    assert probe_cameras() == []
    assert probe_cameras(range(4)) == []
    assert time.perf_counter() - start < 5.0  # a bound against hanging, not a benchmark


def test_probe_lists_indices_that_open_and_skips_the_one_in_use():
    opened: list[int] = []

    def factory(index, api):
        opened.append(index)
        return FakeCamera(index, opens=index in (0, 2))

    assert probe_cameras(range(4), in_use=[3], capture_factory=factory) == [0, 2, 3]
    assert opened == [0, 1, 2]


def test_probe_stops_when_its_budget_is_spent():
    assert probe_cameras(range(100), budget_s=0.0, capture_factory=FakeCamera) == []


def test_to_rgb_handles_gray_bgra_and_16_bit():
    bgr = clip_frame(0)[..., ::-1]
    np.testing.assert_array_equal(to_rgb(np.ascontiguousarray(bgr)), clip_frame(0))
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(to_rgb(bgra), clip_frame(0))
    gray = to_rgb(np.full((4, 5), 7, np.uint8))
    assert gray.shape == (4, 5, 3) and (gray == 7).all()
    deep = to_rgb(np.full((4, 5, 3), (0, 32896, 65535), np.uint16))
    assert deep.dtype == np.uint8 and (deep == (255, 128, 0)).all()
