"""The capture loop on its own QThread: a camera index or a video file as a stream of frames.

Dropped-frame policy: a one-slot mailbox, newest wins. The capture thread never waits for the
GUI; each frame it reads replaces the one still waiting (counted in ``dropped_frames``), and at
most one wake-up event is queued for the GUI thread at a time. So a GUI that stalls for a second
gets one frame, the newest, when it wakes, and memory stays flat. An acknowledge-before-next
scheme would give the same bound, but leaves a camera's driver buffer filling with stale frames
and stalls the stream for good if a receiver forgets to acknowledge.

Every public signal is emitted in the thread that owns the worker (create it in the GUI thread),
so GUI slots run there directly, and nothing from a stream that was stopped or replaced arrives
after ``stop()`` or a new ``start()``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import VideoSourceError
from alexnet_gui.core.imaging.pacing import DEFAULT_FPS, FpsMeter, FramePacer
from alexnet_gui.core.imaging.video import (
    CaptureFactory,
    SourceInfo,
    VideoSource,
    open_source,
)

_log = logging.getLogger(__name__)

JOIN_TIMEOUT_MS = 3000  # longer than the 2 s a stalled V4L2 read may block
_PAUSED_POLL_S = 0.05


@dataclass(frozen=True, eq=False)
class CapturedFrame:
    """One frame on its way to the GUI; ``rgb`` is HxWx3 uint8 RGB and read-only."""

    source_id: str
    index: int  # frames read from this source since start, dropped ones included
    timestamp: float  # time.perf_counter() when the read returned
    rgb: np.ndarray


class _CaptureThread(QThread):
    """A QThread that runs one capture loop and ends; a new one is made for each start."""

    def __init__(self, target: Callable[[], None]) -> None:
        super().__init__()
        self._target = target
        self.setObjectName("capture")

    def run(self) -> None:
        try:
            self._target()
        except Exception:  # escaping QThread.run, it would reach sys.excepthook or abort
            _log.exception("Capture thread failed")


class CaptureWorker(QObject):
    """Reads a camera or a video file on its own thread and hands the newest frame to the GUI.

    Controls (``start``, ``stop``, ``set_frozen``, ``set_mirrored``, ``set_looping``) are called
    from the owning thread and take effect at the next frame. Mirror and loop persist across
    starts; freeze is cleared by each start. Call ``shutdown()`` before the worker is destroyed
    (``closeEvent``): the capture thread emits this object's signals.

    Signals:
        stream_started(SourceInfo): the source opened; size, nominal fps and name are known.
        frame_captured(CapturedFrame): the newest frame; older unseen ones were dropped.
        fps_measured(float): frames read per second over the last second, about once a second.
        stream_failed(str): a one-line message; the capture thread has ended.
        stream_finished(): the file ended (no loop) or ``stop()`` was called; the thread has ended.
    """

    stream_started = pyqtSignal(object)
    frame_captured = pyqtSignal(object)
    fps_measured = pyqtSignal(float)
    stream_failed = pyqtSignal(str)
    stream_finished = pyqtSignal()

    # From the capture thread to this object's thread; each carries the run's generation.
    _source_opened = pyqtSignal(int, object)
    _frame_posted = pyqtSignal()
    _rate_posted = pyqtSignal(int, float)
    _run_ended = pyqtSignal(int, str)

    def __init__(
        self, parent: QObject | None = None, *, capture_factory: CaptureFactory | None = None
    ) -> None:
        super().__init__(parent)
        self._capture_factory = capture_factory
        self._lock = threading.Lock()  # guards the options and the mailbox
        self._mirrored = False
        self._looping = False
        self._frozen = False
        self._mailbox: tuple[int, CapturedFrame] | None = None
        self._wake_queued = False
        self._dropped = 0
        # Owner-thread state only.
        self._generation = 0
        self._delivering = False
        self._stop_event: threading.Event | None = None
        self._thread: _CaptureThread | None = None
        self._retired: list[_CaptureThread] = []  # stopped threads that did not join in time
        self._info: SourceInfo | None = None
        self._latest: CapturedFrame | None = None
        self._source_opened.connect(self._on_capture_source_opened)
        self._frame_posted.connect(self._on_capture_frame_posted)
        self._rate_posted.connect(self._on_capture_rate_posted)
        self._run_ended.connect(self._on_capture_run_ended)

    # Controls -------------------------------------------------------------------------------

    def start(
        self, target: int | str | Path, *, loop: bool | None = None, mirror: bool | None = None
    ) -> None:
        """Open camera ``target`` (an int) or a video file, in the capture thread, and stream it.

        A stream already running is stopped first; its end is not reported. Failure to open
        arrives as ``stream_failed``.
        """
        if self._thread is not None:
            self.stop()
            if not self._thread.wait(JOIN_TIMEOUT_MS):
                self._retired.append(self._thread)
        self._retired = [t for t in self._retired if not t.isFinished()]
        with self._lock:
            self._looping = self._looping if loop is None else loop
            self._mirrored = self._mirrored if mirror is None else mirror
            self._frozen = False
            self._mailbox = None
            self._dropped = 0
        self._generation += 1
        self._delivering = True
        self._info = None
        self._latest = None
        self._stop_event = threading.Event()
        run = functools.partial(self._run, self._generation, target, self._stop_event)
        self._thread = _CaptureThread(run)
        self._thread.start()

    def stop(self) -> None:
        """Ask the capture loop to end; returns at once. ``wait()`` joins it."""
        self._delivering = False
        if self._stop_event is not None:
            self._stop_event.set()
        with self._lock:
            self._mailbox = None

    def wait(self, timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
        """Join the capture thread; ``False`` if it is still running after ``timeout_ms``."""
        threads = [*self._retired, *([self._thread] if self._thread is not None else [])]
        deadline = time.perf_counter() + timeout_ms / 1000
        for thread in threads:
            left_ms = max(0, int((deadline - time.perf_counter()) * 1000))
            if not thread.wait(left_ms):
                return False
        self._retired.clear()
        return True

    def shutdown(self, timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
        """Stop and join, for ``closeEvent``; ``False`` if the thread did not end in time."""
        self.stop()
        return self.wait(timeout_ms)

    def set_frozen(self, frozen: bool) -> None:
        """Pause delivery: a file keeps its place; a camera is still drained, so unfreezing
        shows a fresh picture rather than one that sat in the driver's buffer."""
        with self._lock:
            self._frozen = frozen

    def set_mirrored(self, mirrored: bool) -> None:
        """Flip frames left to right, as a selfie view."""
        with self._lock:
            self._mirrored = mirrored

    def set_looping(self, looping: bool) -> None:
        """Restart a file at its first frame when it ends, instead of finishing."""
        with self._lock:
            self._looping = looping

    # State ----------------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def is_frozen(self) -> bool:
        with self._lock:
            return self._frozen

    def is_mirrored(self) -> bool:
        with self._lock:
            return self._mirrored

    def is_looping(self) -> bool:
        with self._lock:
            return self._looping

    @property
    def source_info(self) -> SourceInfo | None:
        """The open source of the current stream, once ``stream_started`` has been emitted."""
        return self._info

    @property
    def latest_frame(self) -> CapturedFrame | None:
        """The last frame delivered by ``frame_captured``: what a snapshot should take."""
        return self._latest

    @property
    def dropped_frames(self) -> int:
        """Frames of this stream replaced in the mailbox before the GUI took them."""
        with self._lock:
            return self._dropped

    # Capture thread -------------------------------------------------------------------------

    def _run(self, generation: int, target: int | str | Path, stop: threading.Event) -> None:
        """The thread body: every outcome, a bug included, ends in one ``_run_ended``."""
        error = ""
        source: VideoSource | None = None
        try:
            source = open_source(target, capture_factory=self._capture_factory)
            self._source_opened.emit(generation, source.info)
            self._capture_loop(generation, source, stop)
        except VideoSourceError as exc:
            error = str(exc)
        except Exception as exc:  # an exception escaping QThread.run aborts the process
            _log.exception("Capture loop failed")
            error = f"Capture stopped unexpectedly: {exc}"
        finally:
            if source is not None:
                source.close()
            self._run_ended.emit(generation, error)

    def _capture_loop(self, generation: int, source: VideoSource, stop: threading.Event) -> None:
        info = source.info
        pacer = FramePacer(info.fps or DEFAULT_FPS) if info.is_file else None
        meter = FpsMeter()
        index = 0
        while not stop.is_set():
            with self._lock:
                frozen, source.loop, source.mirror = self._frozen, self._looping, self._mirrored
            if frozen and pacer is not None:
                pacer.reset()
                stop.wait(_PAUSED_POLL_S)
                continue
            if pacer is not None and stop.wait(pacer.delay(time.perf_counter())):
                break
            rgb = source.read()
            now = time.perf_counter()
            if rgb is None or stop.is_set():  # a read that outlived stop() is not delivered
                break
            rate = meter.tick(now)
            if rate is not None:
                self._rate_posted.emit(generation, rate)
            if not frozen:
                rgb.flags.writeable = False
                self._post(generation, CapturedFrame(info.source_id, index, now, rgb))
            index += 1

    def _post(self, generation: int, frame: CapturedFrame) -> None:
        with self._lock:
            if self._mailbox is not None:
                self._dropped += 1
            self._mailbox = (generation, frame)
            if self._wake_queued:
                return
            self._wake_queued = True
        self._frame_posted.emit()

    # Owner thread ---------------------------------------------------------------------------

    @pyqtSlot(int, object)
    def _on_capture_source_opened(self, generation: int, info: SourceInfo) -> None:
        if generation == self._generation and self._delivering:
            self._info = info
            self.stream_started.emit(info)

    @pyqtSlot()
    def _on_capture_frame_posted(self) -> None:
        with self._lock:
            item, self._mailbox, self._wake_queued = self._mailbox, None, False
            frozen = self._frozen
        if item is None or frozen or not self._delivering or item[0] != self._generation:
            return
        self._latest = item[1]
        self.frame_captured.emit(item[1])

    @pyqtSlot(int, float)
    def _on_capture_rate_posted(self, generation: int, rate: float) -> None:
        if generation == self._generation and self._delivering:
            self.fps_measured.emit(rate)

    @pyqtSlot(int, str)
    def _on_capture_run_ended(self, generation: int, error: str) -> None:
        if generation != self._generation or self._thread is None:
            return  # a replaced stream: its end is not news
        self._thread.wait(JOIN_TIMEOUT_MS)  # run() has returned; this only lets the thread exit
        self._delivering = False
        if error:
            self.stream_failed.emit(error)
        else:
            self.stream_finished.emit()
