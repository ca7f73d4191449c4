"""numpy <-> QImage: the only place in the app that converts between them.

Every QImage made here owns a copy of its pixels. A QImage that merely wraps a numpy buffer
crashes or shows garbage once the array is freed, and the arrays that arrive from the worker
are dropped as soon as the next result comes; one copy per picture is cheap by comparison.
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage, QPainter, QPixmap

from alexnet_gui.ui.qt_types import present

_FORMATS = {1: QImage.Format_Grayscale8, 3: QImage.Format_RGB888, 4: QImage.Format_RGBA8888}


def array_to_qimage(array: np.ndarray) -> QImage:
    """An HxW, HxWx3 (RGB) or HxWx4 (RGBA) ``uint8`` array as a QImage that owns its pixels."""
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 array, got {array.dtype}")
    channels = 1 if array.ndim == 2 else array.shape[2] if array.ndim == 3 else 0
    if channels not in _FORMATS:
        raise ValueError(f"expected HxW, HxWx3 or HxWx4, got shape {array.shape}")
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    # PyQt5 takes any buffer here; its stub lists only bytes and sip.voidptr
    image = QImage(array.data, width, height, array.strides[0],  # type: ignore[call-overload]
                   _FORMATS[channels])
    return image.copy()  # detach from the numpy buffer


def array_to_pixmap(array: np.ndarray) -> QPixmap:
    """For painting; call only in the GUI thread (QPixmap lives on the display)."""
    return QPixmap.fromImage(array_to_qimage(array))


def qimage_to_array(image: QImage) -> np.ndarray:
    """Any QImage as an HxWx3 RGB ``uint8`` array; transparency is flattened onto white.

    White, as core.imaging.decode does for files: a pasted PNG gives the file's pixels.
    """
    if image.isNull():
        raise ValueError("the image is empty")
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format_RGB888)
        flat.fill(Qt.GlobalColor.white)
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    else:
        image = image.convertToFormat(QImage.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    buffer = present(image.constBits())  # None only for a null image
    buffer.setsize(stride * height)
    # sip.voidptr has the buffer protocol; its stub does not say so
    rows = np.frombuffer(buffer, dtype=np.uint8).reshape(  # type: ignore[call-overload]
        height, stride)
    return rows[:, : width * 3].reshape(height, width, 3).copy()
