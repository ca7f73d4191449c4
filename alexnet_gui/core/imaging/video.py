"""Cameras and video files as RGB frames, with every failure as one readable message.

OpenCV does the capturing. A file is checked at open by decoding its first frame, so an empty,
zero-frame or corrupt file fails there and not in the middle of playback. A source that stops
delivering later (a camera unplugged, a file damaged halfway) raises ``VideoSourceError`` from
``read()``; the normal end of a file is ``None``. No Qt here: the thread around this lives in
``alexnet_gui.workers.capture_worker``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

# Both are read when a backend is first used, so setting them here, before any capture, is enough.
# FFmpeg prints header-parsing chatter for every broken file; V4L2 waits 10 s on a stalled camera,
# during which the capture thread cannot be stopped. A user's own settings win.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
if sys.platform.startswith("linux"):
    os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "2")

import cv2

from alexnet_gui.core.errors import VideoSourceError
from alexnet_gui.core.imaging.formats import (
    VIDEO_EXTENSIONS as VIDEO_EXTENSIONS,  # re-exported
)
from alexnet_gui.core.imaging.pacing import usable_fps

if "OPENCV_LOG_LEVEL" not in os.environ:
    # Probing absent cameras logs a warning per index and backend; errors still show.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

_CAMERA_READ_RETRIES = 3  # consecutive failed reads before a camera counts as gone
_CAMERA_WARMUP_S = 2.0  # some cameras send nothing for a moment after opening


class CaptureLike(Protocol):
    """The part of ``cv2.VideoCapture`` used here; tests inject fakes with this shape."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, Any]: ...
    def get(self, prop: int) -> float: ...
    def set(self, prop: int, value: float) -> bool: ...
    def release(self) -> None: ...


CaptureFactory = Callable[[int | str, int], CaptureLike]


@dataclass(frozen=True)
class SourceInfo:
    """What an opened source is, for the status bar and for pacing."""

    source_id: str  # "camera:0" or "file:/absolute/path.avi"
    name: str  # "Camera 0" or "clip.avi"; every error message starts with it
    is_file: bool
    width: int
    height: int
    fps: float | None  # the nominal rate; None when a camera does not report a usable one
    frame_count: int | None  # None for cameras and files that do not say
    backend: str


class VideoSource:
    """An open camera or video file that hands out RGB frames, one thread at a time.

    ``loop`` and ``mirror`` are plain attributes read at every ``read()``, so a controller may
    change them between frames.
    """

    def __init__(
        self,
        capture: CaptureLike,
        info: SourceInfo,
        first_frame: np.ndarray,
        *,
        reopen: Callable[[], CaptureLike] | None = None,
        loop: bool = False,
        mirror: bool = False,
    ) -> None:
        self._capture: CaptureLike | None = capture
        self._info = info
        self._pending: np.ndarray | None = first_frame  # decoded at open to prove the source
        self._reopen = reopen
        self._position = 0  # frames returned in the current pass through a file
        self.loop = loop
        self.mirror = mirror

    @property
    def info(self) -> SourceInfo:
        return self._info

    def read(self) -> np.ndarray | None:
        """The next frame as a new HxWx3 uint8 RGB array, or ``None`` at the end of a file.

        Raises:
            VideoSourceError: the camera stopped sending, or the file broke before its end.
        """
        if self._capture is None:
            raise VideoSourceError(f"{self._info.name} is closed.")
        bgr, self._pending = self._pending, None
        if bgr is None:
            bgr = self._read_file() if self._info.is_file else self._read_camera()
            if bgr is None:
                return None
        self._position += 1
        rgb = to_rgb(bgr)
        return cv2.flip(rgb, 1) if self.mirror else rgb

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open_capture(self) -> CaptureLike:
        """The capture, which :meth:`read` has checked is still open."""
        assert self._capture is not None
        return self._capture

    def _read_camera(self) -> np.ndarray:
        for _ in range(_CAMERA_READ_RETRIES):
            ok, bgr = _safe_read(self._open_capture())
            if ok:
                return bgr
        raise VideoSourceError(
            f"{self._info.name} stopped sending pictures. It may have been unplugged or taken "
            "by another app."
        )

    def _read_file(self) -> np.ndarray | None:
        ok, bgr = _safe_read(self._open_capture())
        if ok:
            return bgr
        count = self._info.frame_count
        # The header's count is an estimate for some containers; allow a small shortfall.
        if count and count - self._position > max(2, count // 20):
            raise VideoSourceError(
                f"{self._info.name}: the video is damaged after frame {self._position} of {count}."
            )
        if not self.loop:
            return None
        return self._rewind()

    def _rewind(self) -> np.ndarray:
        """Back to the first frame: seek if the backend can, otherwise open the file again."""
        self._position = 0
        capture = self._open_capture()
        if capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
            ok, bgr = _safe_read(capture)
            if ok:
                return bgr
        if self._reopen is not None:
            capture.release()
            self._capture = capture = self._reopen()
            ok, bgr = _safe_read(capture)
            if ok:
                return bgr
        raise VideoSourceError(f"{self._info.name}: cannot go back to the start to loop.")


def open_source(
    target: int | str | Path, *, capture_factory: CaptureFactory | None = None
) -> VideoSource:
    """A camera for an ``int`` index, otherwise a video file path."""
    if isinstance(target, int):
        return open_camera(target, capture_factory=capture_factory)
    return open_file(target, capture_factory=capture_factory)


def open_file(path: str | Path, *, capture_factory: CaptureFactory | None = None) -> VideoSource:
    """Open a video file and decode its first frame, so a file that cannot play fails here."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise VideoSourceError(f"{name}: file not found.")
    if path.is_dir():
        raise VideoSourceError(f"{name}: is a folder, not a video.")
    if path.stat().st_size == 0:
        raise VideoSourceError(f"{name}: the file is empty (0 bytes).")
    if not os.access(path, os.R_OK):
        raise VideoSourceError(f"{name}: permission denied.")

    def reopen() -> CaptureLike:
        return _create(capture_factory, str(path), _file_api())

    capture = reopen()
    with _released_on_error(capture):
        if not capture.isOpened():
            raise VideoSourceError(f"{name}: not a video file, or a format OpenCV cannot read.")
        ok, first = _safe_read(capture)
        if not ok:
            raise VideoSourceError(f"{name}: has no frames that can be decoded (empty or damaged).")
        info = _describe(capture, first, f"file:{path.resolve()}", name, is_file=True)
    return VideoSource(capture, info, first, reopen=reopen)


def open_camera(
    index: int,
    *,
    capture_factory: CaptureFactory | None = None,
    warmup_s: float = _CAMERA_WARMUP_S,
) -> VideoSource:
    """Open camera ``index`` and wait (up to ``warmup_s``) for its first picture."""
    name = f"Camera {index}"
    capture = _create(capture_factory, index, camera_api())
    with _released_on_error(capture):
        if not capture.isOpened():
            raise VideoSourceError(
                f"{name} could not be opened. It may be unplugged, in use by another app, or "
                "blocked by the system's privacy settings."
            )
        deadline = time.perf_counter() + warmup_s
        ok, first = _safe_read(capture)
        while not ok and time.perf_counter() < deadline:
            time.sleep(0.02)
            ok, first = _safe_read(capture)
        if not ok:
            raise VideoSourceError(f"{name} sent no picture. Another app may be using it.")
        info = _describe(capture, first, f"camera:{index}", name, is_file=False)
    return VideoSource(capture, info, first)


def probe_cameras(
    indices: Iterable[int] | None = None,
    *,
    in_use: Iterable[int] = (),
    budget_s: float = 2.0,
    capture_factory: CaptureFactory | None = None,
) -> list[int]:
    """Camera indices that open, for a Camera menu; blocking but bounded by ``budget_s``.

    Indices in ``in_use`` (the camera being streamed) are listed without opening them again.
    Opening only, not reading a frame: a read costs a real camera up to a second.
    """
    busy = set(in_use)
    found: list[int] = []
    deadline = time.perf_counter() + budget_s
    for index in default_camera_indices() if indices is None else indices:
        if index in busy:
            found.append(index)
            continue
        if time.perf_counter() > deadline:
            break
        capture = _create(capture_factory, index, camera_api())
        try:
            if capture.isOpened():
                found.append(index)
        finally:
            capture.release()
    return found


def default_camera_indices(limit: int = 8) -> list[int]:
    """Indices worth trying: on Linux only existing ``/dev/videoN`` nodes, elsewhere 0..limit-1."""
    if sys.platform.startswith("linux"):
        nodes = Path("/dev").glob("video*")
        numbers = (node.name[5:] for node in nodes)
        return sorted(int(n) for n in numbers if n.isdigit() and int(n) < limit)
    return list(range(limit))


def camera_api() -> int:
    """The capture backend for cameras on this OS.

    Named explicitly because OpenCV's default tries several backends per index (slow, noisy), and
    on Windows Media Foundation can take seconds to open a camera where DirectShow is quick.
    """
    preferred = {"win32": cv2.CAP_DSHOW, "darwin": cv2.CAP_AVFOUNDATION}.get(
        sys.platform, cv2.CAP_V4L2
    )
    return preferred if preferred in cv2.videoio_registry.getCameraBackends() else cv2.CAP_ANY


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """An OpenCV frame (BGR, BGRA, gray, 16-bit) as a new HxWx3 uint8 RGB array."""
    if frame.dtype != np.uint8:  # scaled by the type's range, not the frame's, to keep exposure
        top = np.iinfo(frame.dtype).max if np.issubdtype(frame.dtype, np.integer) else 1.0
        frame = cv2.convertScaleAbs(frame, alpha=255.0 / top)
    if frame.ndim == 2 or frame.shape[2] == 1:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _create(factory: CaptureFactory | None, target: int | str, api: int) -> CaptureLike:
    try:
        return (factory or cv2.VideoCapture)(target, api)
    except cv2.error as exc:
        raise VideoSourceError(f"{target}: OpenCV could not open it ({exc}).") from exc


@contextmanager
def _released_on_error(capture: CaptureLike) -> Iterator[None]:
    """Release a capture that is being checked if any check fails, a bug included."""
    try:
        yield
    except BaseException:
        capture.release()
        raise


def _safe_read(capture: CaptureLike) -> tuple[bool, np.ndarray]:
    """``capture.read()`` where an exception or an empty frame both count as a failed read."""
    try:
        ok, frame = capture.read()
    except cv2.error:
        return False, np.empty((0, 0, 3), np.uint8)
    if not ok or frame is None or frame.size == 0:
        return False, np.empty((0, 0, 3), np.uint8)
    return True, frame


def _file_api() -> int:
    """FFmpeg for files: every opencv-python wheel ships it and it reads the common formats.

    Naming it also stops OpenCV from falling back to its own AVI parser, which prints to stderr
    for every broken file.
    """
    return cv2.CAP_FFMPEG if cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG) else cv2.CAP_ANY


def _describe(
    capture: CaptureLike, first: np.ndarray, source_id: str, name: str, *, is_file: bool
) -> SourceInfo:
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT) if is_file else 0.0
    return SourceInfo(
        source_id=source_id,
        name=name,
        is_file=is_file,
        width=first.shape[1],
        height=first.shape[0],
        fps=usable_fps(capture.get(cv2.CAP_PROP_FPS)),
        frame_count=int(count) if count >= 1 else None,  # OpenCV says -1 or 0 when unknown
        backend=_backend_name(capture),
    )


def _backend_name(capture: CaptureLike) -> str:
    try:
        return str(capture.getBackendName())  # type: ignore[attr-defined]
    except (AttributeError, cv2.error):
        return "unknown"
