"""The panels on their own: the picture with its overlay, bars, the folder table, messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import QRectF
from PyQt5.QtGui import QColor, QImage
from PyQt5.QtWidgets import QToolButton

from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction
from alexnet_gui.messages import BatchFinished, BatchItem
from alexnet_gui.ui.browse.batch_panel import CSV_HEADER, BatchPanel
from alexnet_gui.ui.browse.collection import Collection
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.message_bar import MessageBar
from alexnet_gui.ui.widgets.overlay import fit_rect
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.qimage import array_to_qimage, qimage_to_array

SCORES = tuple(ClassScore(r, r, f"class {r}", p) for r, p in
               zip(range(1, 6), (0.6, 0.2, 0.1, 0.05, 0.05), strict=True))
INFO = ModelInfo("fruit", "torchvision", 3, "/models/fruit.pth", 224, "cpu")


def test_qimage_round_trip_rgb_gray_rgba():
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(qimage_to_array(array_to_qimage(rgb)), rgb)
    gray = rgb[..., 0].copy()
    np.testing.assert_array_equal(qimage_to_array(array_to_qimage(gray))[..., 1], gray)
    rgba = np.zeros((2, 2, 4), np.uint8)  # fully transparent: flattened onto white
    assert (qimage_to_array(array_to_qimage(rgba)) == 255).all()


def test_qimage_owns_its_pixels_and_rejects_bad_arrays():
    array = np.full((4, 4, 3), 10, np.uint8)
    image = array_to_qimage(array)
    array[:] = 200
    del array
    assert QColor(image.pixel(0, 0)).red() == 10
    with pytest.raises(TypeError):
        array_to_qimage(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError):
        array_to_qimage(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError):
        qimage_to_array(QImage())


def test_fit_rect_keeps_the_aspect_ratio():
    rect = fit_rect(400, 200, QRectF(0, 0, 100, 100))
    assert (rect.width(), rect.height(), rect.top()) == (100, 50, 25)


def test_image_view_paints_the_picture_and_the_scores(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show_image(np.full((100, 300, 3), 255, np.uint8), SCORES, caption="AlexNet · fruit")
    assert view.has_image and view.scores == SCORES
    rect = view.image_rect()
    assert rect.width() == 600 and rect.height() == 200  # fits the width, aspect kept
    image = view.grab().toImage()
    inside_box = QColor(image.pixel(int(rect.left()) + 30, int(rect.top()) + 30))
    assert inside_box.red() < 150  # the dark box behind the labels, on a white picture
    view.show_text("broken.jpg: damaged")
    assert not view.has_image and not view.scores


def test_predictions_panel_bars_and_model(qtbot):
    panel = PredictionsPanel()
    qtbot.addWidget(panel)
    panel.set_prediction(Prediction(SCORES[:3], 12.0, "cpu", "fruit"))
    assert panel.bar_texts() == ["1. class 1: 60.0 %", "2. class 2: 20.0 %", "3. class 3: 10.0 %"]
    panel.set_model(INFO)
    assert panel.source.full_text() == "/models/fruit.pth"
    panel.set_prediction(None, message="No model loaded")
    assert panel.bar_texts() == []


def test_batch_panel_rows_selection_and_csv(qtbot):
    panel = BatchPanel()
    qtbot.addWidget(panel)
    paths = [Path("/a/one.jpg"), Path("/a/two.jpg")]
    panel.set_paths(paths, running=True)
    panel.add_item(BatchItem(1, 0, paths[0], SCORES[0], "fruit"))
    panel.add_item(BatchItem(1, 1, paths[1], None, "fruit", error="two.jpg: damaged"))
    panel.finish(BatchFinished(1, 2, 2, failed=1))
    assert panel.summary.text() == "2 images · 1 classified · 1 could not be read"
    assert panel.csv_rows() == [
        CSV_HEADER,
        ("/a/one.jpg", "class 1", "1", "0.600000", "fruit", ""),
        ("/a/two.jpg", "", "", "", "fruit", "two.jpg: damaged"),
    ]
    with qtbot.waitSignal(panel.row_selected) as blocker:
        panel.table.setCurrentCell(1, 0)
    assert blocker.args == [1]
    with qtbot.assertNotEmitted(panel.row_selected):
        panel.select_row(0)


def test_message_bar_shows_the_current_problem_with_the_history_a_click_away(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    for i in range(100):
        bar.show_message(f"file{i}.jpg: damaged")
    assert not bar.isHidden() and bar.text == "file99.jpg: damaged"  # no "+99 more"
    assert len(bar.history) == 100 and bar.history[0].endswith("file0.jpg: damaged")
    bar.dismiss()
    assert bar.isHidden() and len(bar.history) == 100
    bar.findChild(QToolButton, "messageHistoryButton").click()
    dialog = bar.history_dialog
    assert dialog is not None and dialog.isVisible()
    assert "file0.jpg: damaged" in dialog.text.toPlainText()
    dialog.close()


def test_collection_navigation_is_clamped():
    collection = Collection()
    assert collection.move(1) is None and collection.current is None
    paths = [Path(f"{i}.jpg") for i in range(25)]
    collection.set(paths)
    assert collection.move(-1) is None
    assert collection.move(10) == Path("10.jpg")
    assert collection.move(100) == Path("24.jpg")
    assert collection.go(3) == Path("3.jpg") and collection.index_of(Path("7.jpg")) == 7


def test_status_bar_device_reads_like_the_model_box(qtbot):
    from PyQt5.QtWidgets import QStatusBar

    from alexnet_gui.ui.widgets.status import StatusFields

    bar = QStatusBar()
    qtbot.addWidget(bar)
    fields = StatusFields(bar)
    info = ModelInfo("m.pt", "torchvision", 3, "/m.pt", 224, "cpu (openvino-bf16)")
    fields.set_model(info)
    fields.set_prediction(Prediction(SCORES[:1], 12.0, "cpu", "m.pt"), 1.0)
    assert fields.device.text() == "Device: cpu (openvino-bf16)"  # as the model box says
    fields.set_prediction(Prediction(SCORES[:1], 12.0, "cuda", "m.pt"), 1.0)
    assert fields.device.text() == "Device: cuda"  # ran elsewhere: says so


def test_a_grid_zooms_with_ctrl_wheel_and_then_scrolls(qtbot):
    from PyQt5.QtCore import QPoint, QPointF, Qt
    from PyQt5.QtGui import QWheelEvent
    from PyQt5.QtWidgets import QApplication

    from alexnet_gui.ui.widgets.grid_view import PixelView, scrolling

    view = PixelView(save_name="g.png")
    area = scrolling(view)
    qtbot.addWidget(area)
    area.resize(200, 200)
    area.show()
    view.set_array(np.zeros((400, 400, 3), np.uint8))  # conv5's 256 maps: more than fits
    QApplication.processEvents()
    fitted = view.target_rect().width()
    assert fitted <= 200

    def wheel(steps: int) -> None:
        for _ in range(abs(steps)):
            event = QWheelEvent(QPointF(50, 50), QPointF(50, 50), QPoint(0, 0),
                                QPoint(0, 120 if steps > 0 else -120), Qt.NoButton,
                                Qt.ControlModifier, Qt.NoScrollPhase, False)
            QApplication.sendEvent(view, event)
            QApplication.processEvents()

    wheel(6)
    assert view.zoom is not None and view.target_rect().width() > 2 * fitted
    assert area.horizontalScrollBar().maximum() > 0  # bigger than the panel: it scrolls
    wheel(-12)
    assert view.zoom is None and area.horizontalScrollBar().maximum() == 0  # fitted again
