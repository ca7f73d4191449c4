"""The inside panel's parts on their own: the Grad-CAM rate text and the throttled painting."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.visualize.inspector import NetworkInspector
from alexnet_gui.messages import InspectOptions
from alexnet_gui.ui.inside.panel import PAINT_RATE, InsidePanel
from alexnet_gui.ui.inside.tabs import RateMeter
from alexnet_gui.ui.widgets.grid_view import PixelView


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("every", "text"), [(1, "Grad-CAM on every frame, 30/s"),
                                             (3, "Grad-CAM every 3rd frame, 10/s"),
                                             (4, "Grad-CAM every 4th frame, 7/s")])
def test_rate_meter_says_how_often_gradcam_ran(every: int, text: str):
    clock = FakeClock()
    meter = RateMeter(window_s=2.0, clock=clock)
    for i in range(120):  # four seconds of a 30 fps camera
        clock.now = i / 30
        meter.add(fresh=i % every == 0, frame=True)
    assert meter.text() == text
    meter.add(fresh=True, frame=False)  # a still image: no rate to speak of
    assert meter.text() == ""


def test_pixel_view_enlarges_by_whole_factors_and_maps_the_mouse_back(qtbot):
    view = PixelView(save_name="x.png", min_side=10)
    qtbot.addWidget(view)
    view.resize(90, 70)
    view.set_array(np.zeros((10, 20, 3), np.uint8))
    rect = view.target_rect()
    assert (rect.width(), rect.height()) == (80, 40)  # 4x (not 5x, which would not fit)
    assert view.picture_pos(view.widget_pos(12.5, 3.5)) == pytest.approx((12.5, 3.5))


@pytest.fixture(scope="module")
def views(imagenet_like_classifier, chelsea_rgb):
    inspector = NetworkInspector()
    image = Image.fromarray(chelsea_rgb)
    return inspector.look(imagenet_like_classifier, image, InspectOptions(), frame=True)[1]


def test_panel_repaints_at_most_ten_times_a_second(qtbot, views):
    panel = InsidePanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    paints: list[object] = []
    panel.views_painted.connect(paints.append)
    start = time.monotonic()
    while time.monotonic() - start < 0.5:  # a result every 5 ms for half a second
        panel.show_views(views)
        qtbot.wait(5)
    qtbot.wait(round(1000 / PAINT_RATE) + 50)
    elapsed = time.monotonic() - start
    assert 2 <= len(paints) <= elapsed * PAINT_RATE + 1
    assert paints[-1] is views and panel.views is views
