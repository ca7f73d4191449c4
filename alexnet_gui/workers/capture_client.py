"""The GUI thread's handle on the camera side: the capture worker and the camera probe.

Importing this module costs no OpenCV. ``app.py`` builds a :class:`CaptureClient` before the
window is shown, and cv2 (through ``core.imaging.video``) is first imported by the probe, in its
own thread, or by the first start: never before the window is on screen. The UI gets this object
handed in and talks to the camera through it only (the UI may not import the workers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

if TYPE_CHECKING:  # for annotations only: importing them costs cv2
    from alexnet_gui.core.imaging.video import CaptureFactory, SourceInfo
    from alexnet_gui.workers.capture_worker import CapturedFrame, CaptureWorker

log = logging.getLogger(__name__)

#: ``in_use -> camera indices that open``; run in a background thread. Tests inject their own.
CameraProbe = Callable[[tuple[int, ...]], list[int]]
JOIN_TIMEOUT_MS = 5000  # the probe's 2 s budget plus one slow open, and the capture thread's 3 s


def probe_cameras(in_use: tuple[int, ...]) -> list[int]:
    """The default probe: OpenCV opens each likely index; runs in the probe thread.

    It also imports the capture worker there, so the GUI thread's first start finds cv2 loaded.
    """
    import alexnet_gui.workers.capture_worker  # noqa: F401  (warms the import for the first start)
    from alexnet_gui.core.imaging.video import probe_cameras as probe

    return probe(in_use=in_use)


class _ProbeThread(QThread):
    """Runs one probe and reports what it found; a new one is made for each probe."""

    probed = pyqtSignal(object)

    def __init__(self, probe: CameraProbe, in_use: tuple[int, ...]) -> None:
        super().__init__()
        self.setObjectName("camera-probe")
        self._probe = probe
        self._in_use = in_use

    def run(self) -> None:
        try:
            found = list(self._probe(self._in_use))
        except Exception:  # a failed probe means no camera to offer, not a crash
            log.exception("probing for cameras failed")
            found = []
        self.probed.emit(found)


class CaptureClient(QObject):
    """Owns the (lazily created) :class:`CaptureWorker` and probes for cameras off the GUI thread.

    The worker's signals are passed on unchanged, so the UI connects once, before the worker
    exists. Controls take effect at the next frame; see :class:`CaptureWorker`.

    Signals:
        cameras_found(list): the camera indices that opened, sorted; empty when none did.
        stream_started(SourceInfo): a camera or file opened.
        frame_captured(CapturedFrame): the newest frame (older unseen ones were dropped).
        fps_measured(float): frames read per second, about once a second.
        stream_failed(str): the source could not open or stopped; one line for the user.
        stream_finished(): the file ended or ``stop()`` was called.
    """

    cameras_found = pyqtSignal(object)
    stream_started = pyqtSignal(object)
    frame_captured = pyqtSignal(object)
    fps_measured = pyqtSignal(float)
    stream_failed = pyqtSignal(str)
    stream_finished = pyqtSignal()

    def __init__(self, parent: QObject | None = None, *,
                 capture_factory: CaptureFactory | None = None,
                 probe: CameraProbe | None = None) -> None:
        super().__init__(parent)
        self._capture_factory = capture_factory
        self._probe = probe or probe_cameras
        self._worker: CaptureWorker | None = None
        self._probe_thread: _ProbeThread | None = None
        self._cameras: list[int] | None = None
        self._camera: int | None = None  # the index being streamed, kept out of the probe

    # -- cameras ------------------------------------------------------------------------------

    @property
    def cameras(self) -> list[int] | None:
        """What the last probe found; ``None`` until a probe has finished."""
        return self._cameras

    @property
    def camera(self) -> int | None:
        """The camera index of the current (or last) stream; ``None`` when it is a file."""
        return self._camera

    def is_probing(self) -> bool:
        return self._probe_thread is not None

    def probe_cameras(self) -> None:
        """Look for cameras in a background thread; ``cameras_found`` follows. One at a time."""
        if self._probe_thread is not None:
            return
        in_use = (self._camera,) if self._camera is not None and self.is_running() else ()
        thread = _ProbeThread(self._probe, in_use)
        thread.probed.connect(self._on_probe_probed)
        self._probe_thread = thread
        thread.start()

    # -- the stream ---------------------------------------------------------------------------

    def start(self, target: int | str | Path, *, loop: bool, mirror: bool) -> None:
        """Stream camera ``target`` (an int) or a video file; a running stream is replaced."""
        self._camera = target if isinstance(target, int) else None
        self._ensure_worker().start(target, loop=loop, mirror=mirror)

    def stop(self) -> None:
        """Ask the stream to end; ``stream_finished`` follows once its thread has ended."""
        if self._worker is not None:
            self._worker.stop()

    def set_frozen(self, frozen: bool) -> None:
        if self._worker is not None:
            self._worker.set_frozen(frozen)

    def set_mirrored(self, mirrored: bool) -> None:
        if self._worker is not None:
            self._worker.set_mirrored(mirrored)

    def set_looping(self, looping: bool) -> None:
        if self._worker is not None:
            self._worker.set_looping(looping)

    def is_running(self) -> bool:
        return self._worker is not None and self._worker.is_running()

    def is_frozen(self) -> bool:
        return self._worker is not None and self._worker.is_frozen()

    @property
    def latest_frame(self) -> CapturedFrame | None:
        """The newest frame delivered to the GUI: what a snapshot saves."""
        return self._worker.latest_frame if self._worker is not None else None

    @property
    def source_info(self) -> SourceInfo | None:
        return self._worker.source_info if self._worker is not None else None

    def shutdown(self, timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
        """Stop the stream and join it and any probe; ``True`` if every thread ended in time."""
        stopped = self._worker.shutdown(timeout_ms) if self._worker is not None else True
        thread = self._probe_thread
        if thread is not None and not thread.wait(timeout_ms):
            log.error("the camera probe did not end within %d ms", timeout_ms)
            stopped = False
        return stopped

    # -- internals ----------------------------------------------------------------------------

    def _ensure_worker(self) -> CaptureWorker:
        if self._worker is None:
            from alexnet_gui.workers.capture_worker import (
                CaptureWorker,  # cv2: only once it is needed
            )

            worker = CaptureWorker(self, capture_factory=self._capture_factory)
            for name in ("stream_started", "frame_captured", "fps_measured", "stream_failed",
                         "stream_finished"):
                getattr(worker, name).connect(getattr(self, name))
            self._worker = worker
        return self._worker

    @pyqtSlot(object)
    def _on_probe_probed(self, found: list[int]) -> None:
        thread, self._probe_thread = self._probe_thread, None
        if thread is not None:
            thread.wait()  # run() has returned; this only lets the thread finish
        self._cameras = sorted(found)
        self.cameras_found.emit(self._cameras)
