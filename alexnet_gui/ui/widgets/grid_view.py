"""A picture of the network's insides, painted crisp, with hover, click and "Save as PNG…".

Kernels are 11x11 and feature maps as small as 6x6, so the view enlarges by whole factors with
nearest-neighbour sampling: every weight or activation stays a sharp square. A picture larger
than the view is reduced smoothly instead; Ctrl+wheel zooms it (in a scroll area it then scrolls,
and zooming back out to the fit returns to fitting). Mouse
positions are reported in the picture's own pixels, which is what the grids' geometries map to
tiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QEvent, QPointF, QRectF, QSize, Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PyQt5.QtWidgets import QAction, QFileDialog, QScrollArea, QSizePolicy, QWidget

from alexnet_gui.ui.export import ExportError, encode_png, write_atomically
from alexnet_gui.ui.widgets.qimage import array_to_qimage

BACKGROUND = QColor(38, 40, 44)
TEXT = QColor(190, 194, 200)
HIGHLIGHT = QColor(255, 196, 0)


def ask_png_path(parent: QWidget, suggested: Path) -> Path | None:
    """The save dialog; tests replace it (``monkeypatch.setattr(grid_view, "ask_png_path", …)``)."""
    name, _ = QFileDialog.getSaveFileName(parent, "Save as PNG", str(suggested),
                                          "PNG image (*.png)")
    return Path(name) if name else None


class PixelView(QWidget):
    """Paints one uint8 picture, fitted to the widget, enlarged without blurring.

    Right-click offers "Save as PNG…", which writes the picture at its own size (not the
    enlargement) to a temporary file and renames it into place.

    Signals:
        hovered(object): the picture pixel ``(x, y)`` under the mouse, or ``None`` off it.
        clicked(float, float): the picture pixel under a left click.
        saved(str): a PNG was written to this path.
        save_failed(str): a PNG could not be written; the message says where and why.
    """

    hovered = pyqtSignal(object)
    clicked = pyqtSignal(float, float)
    saved = pyqtSignal(str)
    save_failed = pyqtSignal(str)

    def __init__(self, *, save_name: str, placeholder: str = "", min_side: int = 120,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.save_name = save_name
        self.save_folder: Callable[[], Path] = Path.home
        self.array: np.ndarray | None = None
        self.qimage: QImage | None = None
        self._pixmap: QPixmap | None = None
        self._highlight: QRectF | None = None
        self._placeholder = placeholder
        self._min_side = min_side
        self.zoom: float | None = None  # None: fit the widget; else screen pixels per pixel
        self.setMinimumSize(min_side, min_side)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.save_action = QAction("Save as PNG…", self)
        self.save_action.setEnabled(False)
        self.save_action.triggered.connect(self._on_save_action_triggered)
        self.addAction(self.save_action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def set_array(self, array: np.ndarray | None) -> None:
        """Show ``array`` (HxWx3 uint8, made in the worker), or the placeholder for ``None``."""
        self.array = array
        self.qimage = None if array is None else array_to_qimage(array)
        self._pixmap = None if self.qimage is None else QPixmap.fromImage(self.qimage)
        self.save_action.setEnabled(array is not None)
        self.set_zoom(self.zoom if self._pixmap is not None else None)
        self.updateGeometry()
        self.update()

    def set_zoom(self, zoom: float | None) -> None:
        """Show the picture at ``zoom`` screen pixels per pixel (the widget grows, so a scroll
        area around it scrolls), or fitted to the widget for ``None``."""
        self.zoom = zoom if self._pixmap is not None else None
        if self.zoom is None or self._pixmap is None:
            self.setMinimumSize(self._min_side, self._min_side)
        else:
            self.setMinimumSize(max(self._min_side, round(self._pixmap.width() * self.zoom)),
                                max(self._min_side, round(self._pixmap.height() * self.zoom)))
        self.updateGeometry()
        self.update()

    def wheelEvent(self, event: QWheelEvent | None) -> None:
        assert event is not None
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if not ctrl or self._pixmap is None or not event.angleDelta().y():
            super().wheelEvent(event)  # a plain wheel scrolls the panel
            return
        shown = self.target_rect().width() / self._pixmap.width()
        if event.angleDelta().y() > 0:  # whole factors from 1 up: pixels stay square
            zoom = shown * 1.25 if shown * 1.25 < 1.0 else math.floor(shown + 1e-6) + 1.0
        else:
            zoom = shown * 0.8 if shown <= 1.0 + 1e-6 else math.ceil(shown - 1e-6) - 1.0
        fit = self._fit_factor()
        self.set_zoom(None if zoom <= fit * 1.01 else min(zoom, 32.0))
        event.accept()

    def _fit_factor(self) -> float:
        assert self._pixmap is not None
        parent = self.parentWidget()  # zoomed in a scroll area: fit its viewport, not us
        area = parent.contentsRect() if self.zoom and parent is not None else self.contentsRect()
        return min(area.width() / self._pixmap.width(), area.height() / self._pixmap.height())

    @property
    def placeholder(self) -> str:
        return self._placeholder

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def set_highlight(self, rect: tuple[int, int, int, int] | None) -> None:
        """Outline ``(x, y, width, height)`` of the picture (the selected tile), or nothing."""
        self._highlight = None if rect is None else QRectF(*rect)
        self.update()

    def target_rect(self) -> QRectF:
        """Where the picture is painted, in widget coordinates (empty without one)."""
        if self._pixmap is None:
            return QRectF()
        width, height = self._pixmap.width(), self._pixmap.height()
        area = QRectF(self.contentsRect())
        factor = min(area.width() / width, area.height() / height)
        if factor >= 1.0:
            factor = float(math.floor(factor))  # whole factors keep every pixel square
        size = QSize(max(1, round(width * factor)), max(1, round(height * factor)))
        left = area.left() + (area.width() - size.width()) / 2.0
        top = area.top() + (area.height() - size.height()) / 2.0
        return QRectF(left, top, size.width(), size.height())

    def picture_pos(self, pos: QPointF) -> tuple[float, float] | None:
        """Widget coordinates to the picture's pixel coordinates (``None`` outside it)."""
        target = self.target_rect()
        if self._pixmap is None or not target.contains(pos):
            return None
        x = (pos.x() - target.left()) * self._pixmap.width() / target.width()
        y = (pos.y() - target.top()) * self._pixmap.height() / target.height()
        return x, y

    def widget_pos(self, x: float, y: float) -> QPointF:
        """The widget point showing picture pixel ``(x, y)``: for tests and tooltips."""
        target = self.target_rect()
        assert self._pixmap is not None
        return QPointF(target.left() + x * target.width() / self._pixmap.width(),
                       target.top() + y * target.height() / self._pixmap.height())

    def save_png(self) -> Path | None:
        """Ask where, then write the picture atomically; a failure is reported, not raised."""
        if self.qimage is None:
            return None
        path = ask_png_path(self, self.save_folder() / self.save_name)
        if path is None:
            return None
        path = path if path.suffix.lower() == ".png" else path.with_suffix(".png")
        try:
            write_atomically({path: encode_png(self.qimage)})
        except ExportError as exc:
            self.save_failed.emit(str(exc))
            return None
        self.saved.emit(str(path))
        return path

    def sizeHint(self) -> QSize:
        if self._pixmap is None:
            return QSize(240, 180)
        return self._pixmap.size().expandedTo(self.minimumSize())

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._pixmap is None:
            painter.setPen(TEXT)
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._placeholder)
        else:
            target = self.target_rect()
            reduced = target.width() < self._pixmap.width()
            painter.setRenderHint(QPainter.SmoothPixmapTransform, reduced)
            painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
            if self._highlight is not None:
                scale = target.width() / self._pixmap.width()
                box = self._highlight
                painter.setPen(QPen(HIGHLIGHT, 2))
                painter.drawRect(QRectF(target.left() + box.left() * scale - 1,
                                        target.top() + box.top() * scale - 1,
                                        box.width() * scale + 2, box.height() * scale + 2))
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:
        assert event is not None
        self.hovered.emit(self.picture_pos(QPointF(event.pos())))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent | None) -> None:
        self.hovered.emit(None)
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        assert event is not None
        position = self.picture_pos(QPointF(event.pos()))
        if event.button() == Qt.MouseButton.LeftButton and position is not None:
            self.clicked.emit(*position)
            event.accept()
            return
        super().mousePressEvent(event)

    @pyqtSlot()
    def _on_save_action_triggered(self) -> None:
        self.save_png()


def scrolling(view: QWidget) -> QScrollArea:
    """``view`` in a frameless scroll area: fitted until zoomed, then scrolled."""
    area = QScrollArea()
    area.setWidget(view)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return area
