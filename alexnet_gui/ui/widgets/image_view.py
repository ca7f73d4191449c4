"""The picture, fitted to the widget with its aspect kept, and the top-k painted on top of it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PyQt5.QtCore import QRectF, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QPainter, QPaintEvent, QPixmap
from PyQt5.QtWidgets import QSizePolicy, QWidget

from alexnet_gui.core.results import ClassScore
from alexnet_gui.ui.widgets.overlay import fit_rect, paint_note, paint_scores
from alexnet_gui.ui.widgets.qimage import array_to_pixmap

BACKGROUND = QColor(38, 40, 44)
PLACEHOLDER = (
    "Open an image with Ctrl+O, a folder with Ctrl+Shift+O,\n"
    "drop files or folders here, or paste an image with Ctrl+V."
)


class ImageView(QWidget):
    """Paints one picture and its scores; knows nothing about where they came from.

    The scaled pixmap is cached per widget size: smooth scaling a 2048-pixel photo on every
    paint would make resizing stutter. A live stream replaces the picture and the scores
    separately (:meth:`show_live_frame`, :meth:`show_scores`): the newest frame under the latest
    result. :attr:`showing_live` says whether the picture is such a frame (running, frozen or
    stopped), so results then change only the overlay. A quiet :attr:`note` ("classifying…")
    stays on the picture until the next scores arrive.

    Signals:
        painted(): a paint has finished; what was set before it is now on screen.
    """

    painted = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._pixmap: QPixmap | None = None
        self._scaled: QPixmap | None = None
        self._scores: tuple[ClassScore, ...] = ()
        self._caption: str | None = None
        self._text = PLACEHOLDER
        self._live = False
        self._note: str | None = None

    @property
    def showing_live(self) -> bool:
        """Whether the picture is a frame of a camera or video (until a still replaces it)."""
        return self._live

    @property
    def has_image(self) -> bool:
        return self._pixmap is not None

    @property
    def scores(self) -> tuple[ClassScore, ...]:
        return self._scores

    @property
    def note(self) -> str | None:
        return self._note

    def set_note(self, text: str | None) -> None:
        """A quiet line on the picture ("classifying…") until the next scores; None: none."""
        if text != self._note:
            self._note = text
            self.update()

    def show_image(
        self, image: np.ndarray, scores: Sequence[ClassScore] = (), *, caption: str | None = None
    ) -> None:
        """Show an RGB array with the given scores (none: the picture alone)."""
        self._live = False
        self._pixmap = array_to_pixmap(image)
        self._scaled = None
        self._scores = tuple(scores)
        self._caption = caption
        self._note = None
        self.update()

    def show_frame(self, image: np.ndarray) -> None:
        """Replace the picture and keep the scores (an overlay over the same still, say)."""
        self._pixmap = array_to_pixmap(image)
        self._scaled = None
        self.update()

    def show_live_frame(self, image: np.ndarray) -> None:
        """Replace the picture with a camera or video frame, under the latest result."""
        self._live = True
        self.show_frame(image)

    def leave_live(self) -> None:
        """A still image is coming: results are no longer about the stream's frames."""
        self._live = False

    def show_scores(self, scores: Sequence[ClassScore], *, caption: str | None = None) -> None:
        """Replace the scores and keep the picture: a result for a frame already replaced."""
        self._scores = tuple(scores)
        self._caption = caption
        self._note = None
        self.update()

    def show_text(self, text: str) -> None:
        """Replace the picture with a message (a file that failed to open, nothing loaded)."""
        self._live = False
        self._pixmap = self._scaled = None
        self._scores = ()
        self._caption = None
        self._note = None
        self._text = text
        self.update()

    def clear(self) -> None:
        self.show_text(PLACEHOLDER)

    def image_rect(self) -> QRectF:
        """Where the picture is drawn, in widget coordinates (empty when there is none)."""
        if self._pixmap is None:
            return QRectF()
        return fit_rect(self._pixmap.width(), self._pixmap.height(), QRectF(self.rect()))

    def sizeHint(self) -> QSize:
        return QSize(800, 600)

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._pixmap is None:
            painter.setPen(QColor(190, 194, 200))
            painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._text)
        else:
            target = self.image_rect()
            painter.drawPixmap(target.topLeft(), self._scaled_pixmap(target))
            paint_scores(painter, target, self._scores, caption=self._caption)
            if self._note and not self._scores:
                paint_note(painter, target, self._note)
        painter.end()
        self.painted.emit()

    def _scaled_pixmap(self, target: QRectF) -> QPixmap:
        assert self._pixmap is not None
        size = target.size().toSize()
        if self._scaled is None or self._scaled.size() != size:
            self._scaled = self._pixmap.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation)
        return self._scaled
