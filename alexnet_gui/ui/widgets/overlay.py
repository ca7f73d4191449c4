"""The top-k labels drawn on the picture, readable on any background.

White text on a semi-transparent dark box: bright skies and dark fur both stay legible. Sizes
follow the picture, so the same function paints the window (a fitted, scaled picture) and the
exported PNG (the picture at full size) with the same proportions.
"""

from __future__ import annotations

from collections.abc import Sequence

from PyQt5.QtCore import QRectF, Qt
from PyQt5.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath

from alexnet_gui.core.results import ClassScore

BOX_COLOUR = QColor(0, 0, 0, 165)
TEXT_COLOUR = QColor(255, 255, 255)
BAR_COLOUR = QColor(88, 166, 255)
TOP1_COLOUR = QColor(255, 214, 102)
NOTE_COLOUR = QColor(255, 255, 255, 200)


def percent(probability: float) -> str:
    """``"62.3 %"``; two decimals below 1 %, where one would round most classes to 0.x."""
    value = probability * 100
    return f"{value:.1f} %" if value >= 1 or value == 0 else f"{value:.2f} %"


def overlay_font(image_rect: QRectF) -> QFont:
    """About 4% of the picture's short side, kept between 11 and 40 pixels."""
    font = QFont()
    side = min(image_rect.width(), image_rect.height())
    font.setPixelSize(int(max(11, min(40, side * 0.04))))
    return font


def paint_scores(
    painter: QPainter,
    image_rect: QRectF,
    scores: Sequence[ClassScore],
    *,
    caption: str | None = None,
) -> None:
    """Top-left: one line per class with its percentage and a bar; bottom-left: ``caption``."""
    font = overlay_font(image_rect)
    metrics = QFontMetricsF(font)
    line = metrics.height()
    pad = line * 0.45
    margin = line * 0.6
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.TextAntialiasing)
    painter.setFont(font)
    if scores:
        _paint_scores_box(painter, image_rect, scores, metrics, pad, margin)
    if caption:
        small = QFont(font)
        small.setPixelSize(max(10, int(font.pixelSize() * 0.75)))
        painter.setFont(small)
        small_metrics = QFontMetricsF(small)
        text = small_metrics.elidedText(caption, Qt.TextElideMode.ElideMiddle,
                                        image_rect.width() - 4 * margin)
        width = small_metrics.horizontalAdvance(text) + 2 * pad
        height = small_metrics.height() + pad
        box = QRectF(image_rect.left() + margin, image_rect.bottom() - margin - height, width,
                     height)
        _rounded_box(painter, box, pad)
        painter.setPen(TEXT_COLOUR)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def _paint_scores_box(
    painter: QPainter,
    image_rect: QRectF,
    scores: Sequence[ClassScore],
    metrics: QFontMetricsF,
    pad: float,
    margin: float,
) -> None:
    line = metrics.height()
    bar_height = max(2.0, line * 0.14)
    row = line + bar_height + line * 0.2
    percent_width = metrics.horizontalAdvance("100.0 %")
    gap = line * 0.6
    max_width = max(line * 4, image_rect.width() - 2 * margin)
    label_room = max(line, max_width - 2 * pad - percent_width - gap)
    labels = [
        metrics.elidedText(f"{s.rank}. {s.label}", Qt.TextElideMode.ElideRight, label_room)
        for s in scores
    ]
    label_width = max(metrics.horizontalAdvance(text) for text in labels)
    width = 2 * pad + label_width + gap + percent_width
    box = QRectF(image_rect.left() + margin, image_rect.top() + margin, width,
                 2 * pad + row * len(scores) - line * 0.2)
    _rounded_box(painter, box, pad)
    for i, (score, label) in enumerate(zip(scores, labels, strict=True)):
        top = box.top() + pad + i * row
        text_rect = QRectF(box.left() + pad, top, box.width() - 2 * pad, line)
        painter.setPen(TOP1_COLOUR if i == 0 else TEXT_COLOUR)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         label)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         percent(score.probability))
        bar = QRectF(text_rect.left(), top + line, text_rect.width(), bar_height)
        painter.fillRect(bar, QColor(255, 255, 255, 45))
        bar.setWidth(text_rect.width() * max(0.0, min(1.0, score.probability)))
        painter.fillRect(bar, BAR_COLOUR)


def paint_note(painter: QPainter, image_rect: QRectF, text: str) -> None:
    """A quiet line ("classifying…") in the picture's top-left corner, where the top-k will be."""
    font = overlay_font(image_rect)
    font.setPixelSize(max(10, int(font.pixelSize() * 0.8)))
    metrics = QFontMetricsF(font)
    pad = metrics.height() * 0.45
    margin = metrics.height() * 0.6
    text = metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                              max(10.0, image_rect.width() - 2 * margin - 2 * pad))
    box = QRectF(image_rect.left() + margin, image_rect.top() + margin,
                 metrics.horizontalAdvance(text) + 2 * pad, metrics.height() + pad)
    painter.save()
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.TextAntialiasing)
    painter.setFont(font)
    _rounded_box(painter, box, pad)
    painter.setPen(NOTE_COLOUR)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def _rounded_box(painter: QPainter, box: QRectF, radius: float) -> None:
    path = QPainterPath()
    path.addRoundedRect(box, radius, radius)
    painter.fillPath(path, BOX_COLOUR)


def fit_rect(image_width: int, image_height: int, area: QRectF) -> QRectF:
    """The largest rectangle of the image's aspect ratio centred in ``area``."""
    if image_width <= 0 or image_height <= 0 or area.isEmpty():
        return QRectF()
    scale = min(area.width() / image_width, area.height() / image_height)
    width, height = image_width * scale, image_height * scale
    left = area.left() + (area.width() - width) / 2
    top = area.top() + (area.height() - height) / 2
    return QRectF(left, top, width, height)
