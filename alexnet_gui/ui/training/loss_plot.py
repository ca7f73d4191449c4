"""A small live chart of a training run: running loss per batch, accuracy per epoch.

Drawn with QPainter: a plotting library would add tens of megabytes to the bundle for three
lines. Loss (left axis, from 0 to its largest value) is drawn as it is reported; training and
validation accuracy (right axis, 0-100 %) get a point at the end of each epoch.
"""

from __future__ import annotations

from PyQt5.QtCore import QPointF, QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PyQt5.QtWidgets import QSizePolicy, QWidget

LOSS_COLOUR = QColor("#2e6fd8")
TRAIN_COLOUR = QColor("#2a9d4b")
VAL_COLOUR = QColor("#e07b00")
MARGINS = (44, 10, 44, 26)  # left, top, right, bottom: room for the axis labels


class LossPlot(QWidget):
    """Loss and accuracy against epochs (x runs from 0 to the run's number of epochs)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        self.setMinimumSize(280, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.epochs = 1
        self.start_epoch = 0
        self.loss: list[tuple[float, float]] = []  # (epoch position, running loss)
        self.train_acc: list[tuple[float, float]] = []  # (epoch, accuracy)
        self.val_acc: list[tuple[float, float]] = []

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    def clear(self, *, epochs: int = 1, start_epoch: int = 0) -> None:
        """Forget the points; the x axis runs from ``start_epoch`` (a resumed run) to ``epochs``."""
        self.epochs, self.start_epoch = max(1, epochs), max(0, min(start_epoch, epochs - 1))
        self.loss.clear()
        self.train_acc.clear()
        self.val_acc.clear()
        self.update()

    def add_loss(self, position: float, loss: float) -> None:
        """The running loss at ``position`` epochs (2.5: half-way through the third epoch)."""
        if loss == loss:  # not NaN
            self.loss.append((position, loss))
            self.update()

    def add_epoch(self, epoch: int, train_acc: float | None, val_acc: float | None) -> None:
        if train_acc is not None:
            self.train_acc.append((float(epoch), train_acc))
        if val_acc is not None:
            self.val_acc.append((float(epoch), val_acc))
        self.update()

    def paintEvent(self, _event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        left, top, right, bottom = MARGINS
        area = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        painter.fillRect(self.rect(), self.palette().base())
        text = self.palette().text().color()
        grid = QColor(text)
        grid.setAlpha(40)
        painter.setPen(QPen(grid, 1))
        for i in range(5):
            y = area.top() + area.height() * i / 4
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        painter.setPen(QPen(text, 1))
        painter.drawRect(area)
        top_loss = max((loss for _, loss in self.loss), default=1.0) * 1.05 or 1.0
        metrics = painter.fontMetrics()
        for value, y in ((top_loss, area.top()), (0.0, area.bottom())):
            painter.drawText(QRectF(0, y - 8, left - 4, 16),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{value:.2f}")
        for label, y in (("100%", area.top()), ("0%", area.bottom())):
            painter.drawText(QRectF(area.right() + 4, y - 8, right - 4, 16),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
        span = self.epochs - self.start_epoch
        for epoch in range(self.start_epoch, self.epochs + 1, max(1, span // 10)):
            x = area.left() + area.width() * (epoch - self.start_epoch) / span
            painter.drawText(QRectF(x - 20, area.bottom() + 2, 40, 16),
                             Qt.AlignmentFlag.AlignCenter, str(epoch))

        def point(position: float, value: float, scale: float) -> QPointF:
            x = area.left() + area.width() * (position - self.start_epoch) / span
            return QPointF(x, area.bottom() - area.height() * min(value / scale, 1.0))

        for points, colour, scale in ((self.loss, LOSS_COLOUR, top_loss),
                                      (self.train_acc, TRAIN_COLOUR, 1.0),
                                      (self.val_acc, VAL_COLOUR, 1.0)):
            painter.setPen(QPen(colour, 2))
            polygon = QPolygonF([point(x, v, scale) for x, v in points])
            if len(points) > 1:
                painter.drawPolyline(polygon)
            painter.setBrush(colour)
            if points is not self.loss:
                for dot in polygon:
                    painter.drawEllipse(dot, 3, 3)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        x = area.left() + 8
        for label, colour in (("loss", LOSS_COLOUR), ("train acc", TRAIN_COLOUR),
                              ("val acc", VAL_COLOUR)):
            painter.setPen(QPen(colour, 2))
            painter.drawLine(QPointF(x, area.top() + 10), QPointF(x + 14, area.top() + 10))
            painter.setPen(QPen(text, 1))
            painter.drawText(QPointF(x + 18, area.top() + 14), label)
            x += 26 + metrics.horizontalAdvance(label)
        painter.end()
