"""The picture first: whatever is opened is decoded in a small thread of its own and shown at once.

The inference worker may be busy for seconds (importing torch, converting an engine, a folder's
chunk) when a file is opened; decoding there would keep the picture off the screen until the
model answers. So every still (file, drop, paste, Recent, a folder's image) is also decoded here,
newest request first (a one-slot buffer, as for the worker), and sent to the GUI as a
:class:`~alexnet_gui.messages.PictureReady` carrying the id of the inference request made for the
same source. The worker decodes the file again for itself: a few milliseconds against the seconds
the picture would otherwise wait. Decoding needs Pillow and numpy only: no torch, no OpenCV.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.messages import (
    BytesSource,
    ClassifyRequest,
    FileSource,
    PictureReady,
    RequestFailure,
    Source,
)
from alexnet_gui.workers.pending_slot import PendingSlot

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)
JOIN_TIMEOUT_MS = 5000


def decode_source(source: Source) -> Image:
    """The picture of ``source`` (a file, pasted bytes or a frame), decoded the one way every
    worker decodes it; raises what the decoder raises (``ImageLoadError``...)."""
    from alexnet_gui.core.imaging import decode as imaging

    if isinstance(source, FileSource):
        return imaging.load_image(source.path)
    if isinstance(source, BytesSource):
        return imaging.image_from_bytes(source.data, source.name)
    return imaging.image_from_array(source.frame, bgr=source.bgr)


def decode_picture(request_id: int, source: Source) -> PictureReady:
    """The display array of ``source``; raises what the decoder raises (``ImageLoadError``...)."""
    from alexnet_gui.core.imaging.decode import display_array

    path = source.path if isinstance(source, FileSource) else None
    return PictureReady(request_id, source.name, path, display_array(decode_source(source)))


class _Decoder(QObject):
    """Lives in the loader's thread: takes the newest request, decodes it, reports it."""

    decoded = pyqtSignal(object)
    failed = pyqtSignal(object)

    def __init__(self, pending: PendingSlot) -> None:
        super().__init__()
        self._pending = pending

    @pyqtSlot()
    def _on_loader_woken(self) -> None:
        request = self._pending.take()
        if request is None:
            return  # a newer request was taken by an earlier wake-up
        source = request.source
        try:
            picture = decode_picture(request.request_id, source)
        except Exception as exc:
            if not isinstance(exc, UserFacingError):
                log.exception("decoding %s failed", source.name)
            message = str(exc) if isinstance(exc, UserFacingError) else f"Unexpected error: {exc!r}"
            path = source.path if isinstance(source, FileSource) else None
            self.failed.emit(RequestFailure(request.request_id, source.name, path, message))
            return
        if not self._pending.waiting():  # else a newer picture is coming: skip this one
            self.decoded.emit(picture)


class PictureLoader(QObject):
    """The GUI thread's handle on the decode thread (started on the first request).

    Signals:
        picture_ready(PictureReady): the newest picture asked for, ready to paint.
        picture_failed(RequestFailure): it could not be decoded; the message is the worker's.
    """

    picture_ready = pyqtSignal(object)
    picture_failed = pyqtSignal(object)
    _woken = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending = PendingSlot()
        self._thread = QThread()
        self._thread.setObjectName("alexnet-pictures")
        self._decoder = _Decoder(self._pending)
        self._decoder.moveToThread(self._thread)
        self._thread.finished.connect(self._decoder.deleteLater)
        self._woken.connect(self._decoder._on_loader_woken)
        self._decoder.decoded.connect(self.picture_ready)
        self._decoder.failed.connect(self.picture_failed)

    def load(self, request_id: int, source: Source) -> None:
        """Decode ``source`` for the inference request ``request_id``; a newer one replaces it."""
        if not self._thread.isRunning():
            self._thread.start()
        self._pending.put(ClassifyRequest(request_id, source))
        self._woken.emit()

    def shutdown(self, timeout_ms: int = JOIN_TIMEOUT_MS) -> bool:
        """Drop what waits and stop the thread; ``True`` if it stopped."""
        self._pending.take()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if not stopped:
            log.error("the picture thread did not stop within %d ms", timeout_ms)
        return stopped
