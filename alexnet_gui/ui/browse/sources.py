"""What a drop or the clipboard carries: local files and folders, or an image."""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QMimeData
from PyQt5.QtGui import QImage

from alexnet_gui.messages import BytesSource, FrameSource
from alexnet_gui.ui.widgets.qimage import qimage_to_array

PASTED = "pasted image"


def local_paths(mime: QMimeData | None) -> list[Path]:
    """The local files and folders among the mime data's URLs (remote URLs are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def offers_content(mime: QMimeData | None) -> bool:
    """Cheap check for drag-enter: would :func:`clipboard_content` find something?"""
    if mime is None:
        return False
    return bool(local_paths(mime)) or mime.hasImage() or any(
        fmt.startswith("image/") for fmt in mime.formats()
    )


def clipboard_content(mime: QMimeData | None) -> list[Path] | BytesSource | FrameSource | None:
    """Copied files, else encoded image bytes, else Qt's own image; ``None`` if none of them.

    Files win because a file manager offers both and the file has a name. Encoded bytes
    (``image/png`` from a browser or a screenshot tool) win over ``imageData()``, because Qt
    would decode those in the GUI thread, and decoding belongs to the worker.
    """
    paths = local_paths(mime)
    if paths:
        return paths
    if mime is None:
        return None
    for fmt in mime.formats():
        if fmt.startswith("image/"):
            data = bytes(mime.data(fmt))
            if data:
                return BytesSource(data, PASTED)
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            return FrameSource(qimage_to_array(image), PASTED)
    return None
