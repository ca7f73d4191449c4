"""The "Inside the network" panel in the real main window: real worker thread, random models.

Pictures are compared as arrays (the QImage each view paints, read back), never as screenshots.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import QDockWidget

from alexnet_gui.core.visualize.drawing import feature_grid, feature_map, overlay
from alexnet_gui.core.visualize.inside import conv1_weights, kernel_tile
from alexnet_gui.messages import FileSource, InsideViews
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.inside.panel import DOCK_NAME, InsidePanel
from alexnet_gui.ui.widgets import grid_view
from alexnet_gui.ui.widgets.qimage import qimage_to_array
from tests.ui.helpers import TIMEOUT, wait_result, window_with_fake_camera

pytestmark = pytest.mark.integration


def painted(view: grid_view.PixelView) -> np.ndarray:
    """The pixels a view paints, read back from its QImage."""
    assert view.qimage is not None
    return qimage_to_array(view.qimage)


def wait_views(qtbot, panel: InsidePanel, action: Callable[[], Any],
               check: Callable[[InsideViews], bool] = lambda _views: True) -> InsideViews:
    """Run ``action`` and wait until the panel has painted views that pass ``check``."""
    with qtbot.waitSignal(panel.views_painted, timeout=TIMEOUT, check_params_cb=check) as blocker:
        action()
    return blocker.args[0]


@pytest.fixture
def inside(qtbot, gui, chelsea_png):
    """The window with the panel shown and chelsea inspected; returns (window, panel, views)."""
    panel = gui.window.findChild(InsidePanel)
    dock = gui.window.findChild(QDockWidget, DOCK_NAME)
    assert dock.isHidden()  # nobody pays for inspection until the panel is asked for
    dock.show()
    views = wait_views(qtbot, panel, lambda: gui.session.submit(FileSource(chelsea_png)))
    return gui, panel, views


def test_hidden_panel_means_no_inspection(qtbot, gui, chelsea_png, monkeypatch):
    asked: list[bool] = []
    submit = gui.session.inference.submit

    def spy(source, **options):
        asked.append(options["inspect"] is not None)  # the options travel, or None
        return submit(source, **options)

    monkeypatch.setattr(gui.session.inference, "submit", spy)
    open_chelsea = lambda: gui.session.submit(FileSource(chelsea_png))  # noqa: E731
    assert wait_result(qtbot, gui, open_chelsea).views is None
    dock = gui.window.findChild(QDockWidget, DOCK_NAME)
    assert dock.toggleViewAction() in gui.window.actions_.menus["view"].actions()
    result = wait_result(qtbot, gui, dock.toggleViewAction().trigger)  # re-run, inspected
    assert isinstance(result.views, InsideViews)
    dock.toggleViewAction().trigger()
    assert wait_result(qtbot, gui, open_chelsea).views is None
    assert asked == [False, True, False, False]  # hiding re-runs the picture without views


def test_kernels_64_for_torchvision_then_96_for_the_paper(qtbot, inside, cached_loader,
                                                          state_dict_file, paper_checkpoint_file):
    gui, panel, views = inside
    tab = panel.kernels
    assert tab.kernels is views.kernels and tab.kernels.geometry.count == 64
    assert painted(tab.grid).shape == (8 * 45 - 1, 8 * 45 - 1, 3)  # 8x8 tiles of 44 px
    np.testing.assert_array_equal(painted(tab.grid), views.kernels.image)
    assert tab.summary.text() == "64 kernels of 11 × 11 × 3"
    panel.tabs.setCurrentWidget(tab)
    dock = gui.window.findChild(QDockWidget, DOCK_NAME)
    dock.setFloating(True)  # the offscreen screen is 800 px wide: give the panel room to hover
    dock.resize(640, 560)
    qtbot.wait(50)
    x, y = views.kernels.geometry.origin(5)
    qtbot.mouseMove(tab.grid, tab.grid.widget_pos(x + 20, y + 20).toPoint())
    assert tab.info.text().startswith("Kernel 5: min ")
    qtbot.mouseClick(tab.grid, Qt.LeftButton, pos=tab.grid.widget_pos(x + 20, y + 20).toPoint())
    weights = conv1_weights(cached_loader(state_dict_file, "cpu").model)
    np.testing.assert_array_equal(painted(tab.enlarged), kernel_tile(weights, 5, scale=4))

    paper = wait_views(qtbot, panel, lambda: gui.session.load_model(paper_checkpoint_file),
                       lambda v: v.kernels.geometry.count == 96)
    assert (paper.kernels.geometry.rows, paper.kernels.geometry.cols) == (8, 12)
    assert painted(tab.grid).shape == (8 * 45 - 1, 12 * 45 - 1, 3)
    assert tab.summary.text() == "96 kernels of 11 × 11 × 3"
    assert painted(panel.model_input.view).shape == (227, 227, 3)
    assert "lrn1" in [panel.features.layer.itemText(i) for i in range(panel.features.layer.count())]


def test_feature_grid_is_the_cores_and_follows_the_controls(qtbot, inside):
    _window, panel, views = inside
    tab = panel.features
    panel.tabs.setCurrentWidget(tab)
    layers = [tab.layer.itemText(i) for i in range(tab.layer.count())]
    assert layers == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3",
                      "conv4", "relu4", "conv5", "relu5", "pool5"]
    expected = feature_grid(views.network.activations, "conv1")
    np.testing.assert_array_equal(painted(tab.grid), expected.image)

    views = wait_views(qtbot, panel, lambda: tab.layer.setCurrentText("relu2"),
                       lambda v: v.network.layer == "relu2")
    assert set(views.network.activations) == {"relu2"}
    expected = feature_grid(views.network.activations, "relu2")
    np.testing.assert_array_equal(painted(tab.grid), expected.image)
    assert tab.info.text().startswith("relu2: 192 maps of 27 × 27.")

    def restyle() -> None:
        tab.colours.setCurrentIndex(tab.colours.findData("gray"))
        tab.normalisation.setCurrentIndex(tab.normalisation.findData("layer"))
        tab.sort.setChecked(True)

    views = wait_views(qtbot, panel, restyle, lambda v: v.options.sort_by_mean)
    expected = feature_grid(views.network.activations, "relu2", sort_by_mean=True,
                            normalisation="layer", colormap_name="gray")
    np.testing.assert_array_equal(painted(tab.grid), expected.image)


def test_clicking_a_map_enlarges_it_and_overlays_it(qtbot, inside):
    gui, panel, views = inside
    tab = panel.features
    panel.tabs.setCurrentWidget(tab)
    geometry = views.network.features.geometry
    x, y = geometry.origin(3)
    where = tab.grid.widget_pos(x + geometry.tile_width / 2, y + geometry.tile_height / 2)
    channel = views.network.features.order[3]
    views = wait_views(qtbot, panel,
                       lambda: qtbot.mouseClick(tab.grid, Qt.LeftButton, pos=where.toPoint()),
                       lambda v: v.channel is not None)
    assert (views.channel.layer, views.channel.channel) == ("conv1", channel)
    activations = views.network.activations
    np.testing.assert_array_equal(painted(tab.enlarged),
                                  feature_map(activations, "conv1", channel, scale=4))
    blended = overlay(views.network.model_input, activations["conv1"][channel], opacity=0.5,
                      colormap_name="viridis")
    np.testing.assert_array_equal(painted(tab.overlay), blended)

    assert gui.inside.main_picture is None
    panel.on_main.setChecked(True)  # the same overlay over the whole picture, in the crop
    assert gui.inside.main_picture is views.channel.display_overlay
    assert views.channel.display_overlay.shape == gui.session.result.image.shape
    assert not np.array_equal(views.channel.display_overlay, gui.session.result.image)

    views = wait_views(qtbot, panel, lambda: panel.opacity.setValue(90),
                       lambda v: v.options.opacity == 0.9)
    blended = overlay(views.network.model_input, activations["conv1"][channel], opacity=0.9,
                      colormap_name="viridis")
    np.testing.assert_array_equal(painted(tab.overlay), blended)
    assert gui.inside.main_picture is views.channel.display_overlay
    panel.on_main.setChecked(False)
    assert gui.inside.main_picture is None


def test_explain_gradcam_for_the_top1_then_another_class(qtbot, inside):
    _window, panel, views = inside
    assert views.gradcam is None  # not computed while its tab is hidden
    tab = panel.gradcam
    assert panel.tabs.tabText(panel.tabs.indexOf(tab)) == "Explain"
    views = wait_views(qtbot, panel, lambda: panel.tabs.setCurrentWidget(tab),
                       lambda v: v.gradcam is not None)
    top5 = views.network.prediction.scores[:5]
    assert views.gradcam.explanation.method == "gradcam" == views.options.method
    assert views.gradcam.explanation.class_index == top5[0].index
    np.testing.assert_array_equal(painted(tab.view), views.gradcam.crop_overlay)
    assert tab.target.count() == 6  # "top-1" and the five classes
    assert f"“{top5[0].label}”" in tab.caption.text()
    first = painted(tab.view)

    views = wait_views(qtbot, panel, lambda: tab.target.setCurrentIndex(3),
                       lambda v: v.options.class_index == top5[2].index)
    assert views.gradcam.explanation.class_index == top5[2].index
    assert views.gradcam.label == top5[2].label and views.gradcam_fresh
    assert f"“{top5[2].label}”" in tab.caption.text()
    assert not np.array_equal(painted(tab.view), first)
    assert tab.rate.text() == ""  # a still image has no rate

    views = wait_views(qtbot, panel, lambda: tab.method.setCurrentIndex(
        tab.method.findData("guided-gradcam")), lambda v: v.gradcam is not None)
    assert views.gradcam.explanation.method == "guided-gradcam"
    assert views.gradcam.explanation.class_index == top5[2].index  # the class stays chosen
    np.testing.assert_array_equal(painted(tab.view), views.gradcam.crop_overlay)
    assert "Guided Grad-CAM at relu5" in tab.caption.text()


def test_occlusion_runs_in_the_background_and_is_exported(qtbot, inside, tmp_path,
                                                         monkeypatch):
    gui, panel, _views = inside
    tab = panel.gradcam
    panel.tabs.setCurrentWidget(tab)
    tab.patch.setValue(112)  # four patches: a quick job
    tab.stride.setValue(112)
    with qtbot.waitSignal(gui.inside.slow.explanation_shown, timeout=TIMEOUT):
        tab.method.setCurrentIndex(tab.method.findData("occlusion"))
    shown = tab.shown
    assert shown.explanation.method == "occlusion" and shown.explanation.map.shape == (224, 224)
    assert shown.display_overlay.shape == gui.session.result.image.shape
    np.testing.assert_array_equal(painted(tab.view), shown.crop_overlay)
    assert "112 px patches, stride 112" in tab.caption.text()
    took = r"Occlusion sensitivity took [\d.]+ s \(4 masked copies of the picture\)\."
    assert re.fullmatch(took, tab.rate.text())
    monkeypatch.setattr(dialogs, "save_result", lambda _parent, _suggested: tmp_path / "r.png")
    gui.window.actions_.export_result.trigger()
    saved = QImage(str(tmp_path / "r.explain-occlusion.png"))
    np.testing.assert_array_equal(qimage_to_array(saved), shown.crop_overlay)


def test_model_input_is_the_crop(inside):
    _window, panel, views = inside
    np.testing.assert_array_equal(painted(panel.model_input.view), views.network.model_input)
    assert views.network.model_input.shape == (224, 224, 3)
    assert panel.model_input.caption.text().startswith("224 × 224 px: short side resized to 256")


def test_save_as_png_from_the_context_menu(qtbot, inside, tmp_path, monkeypatch):
    gui, panel, views = inside
    view = panel.kernels.grid
    assert view.contextMenuPolicy() == Qt.ActionsContextMenu
    assert [a.text() for a in view.actions()] == ["Save as PNG…"]
    suggested: list[Any] = []

    def answer(_parent, proposal):
        suggested.append(proposal)
        return tmp_path / "kernels"

    monkeypatch.setattr(grid_view, "ask_png_path", answer)
    view.save_action.trigger()
    assert suggested[0].name == "conv1-kernels.png"
    saved = QImage(str(tmp_path / "kernels.png"))
    np.testing.assert_array_equal(qimage_to_array(saved), views.kernels.image)

    def refuse(*_args, **_kwargs):  # what a read-only folder does (root ignores chmod)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(grid_view, "ask_png_path", lambda *_: tmp_path / "again.png")
    panel.model_input.view.save_action.trigger()
    assert not (tmp_path / "again.png").exists()
    assert gui.window.messages.isVisible()
    text = gui.window.messages.text
    assert "Cannot write to" in text and "Permission denied" in text


def test_place_tab_and_layer_come_back_next_time(qtbot, inside, make_gui,
                                                 settings_store):
    gui, panel, _views = inside
    wait_views(qtbot, panel, lambda: panel.features.layer.setCurrentText("pool2"),
               lambda v: v.network.layer == "pool2")
    panel.tabs.setCurrentWidget(panel.model_input)
    gui.window.addDockWidget(Qt.LeftDockWidgetArea, gui.window.findChild(QDockWidget, DOCK_NAME))
    gui.window.close()
    again = make_gui(store=settings_store)
    dock = again.window.findChild(QDockWidget, DOCK_NAME)
    assert dock.isVisible() and again.window.dockWidgetArea(dock) == Qt.LeftDockWidgetArea
    restored = again.window.findChild(InsidePanel)
    assert restored.tabs.currentWidget() is restored.model_input
    assert restored.options().layer == "pool2"
    assert not restored.on_main.isEnabled()  # the model input has no overlay to show


def test_live_gradcam_says_its_rate_and_leaves_the_stream_alone(qtbot, make_gui,
                                                                state_dict_file):
    gui, capture = window_with_fake_camera(qtbot, make_gui, state_dict_file)
    panel = gui.window.findChild(InsidePanel)
    gui.window.findChild(QDockWidget, DOCK_NAME).show()
    panel.tabs.setCurrentWidget(panel.gradcam)
    panel.on_main.setChecked(True)
    gui.live.actions.start_camera.trigger()
    rate = re.compile(r"Grad-CAM (on every|every \d+(st|nd|rd|th)) frame, [\d.]+/s")
    qtbot.waitUntil(lambda: rate.fullmatch(panel.gradcam.rate.text()) is not None,
                    timeout=TIMEOUT)
    assert panel.views.frame and panel.views.gradcam is not None
    assert gui.inside.main_picture is None  # moving frames are never painted over
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        gui.live.actions.stop.trigger()
    # stopped, the last frame is a still picture: "On the picture" works on it
    assert gui.inside.main_picture is not None
    assert gui.inside.main_picture is panel.main_overlay()
    panel.on_main.setChecked(False)
    assert gui.inside.main_picture is None


def test_live_occlusion_waits_for_freeze_then_runs_on_the_frame(qtbot, make_gui,
                                                                state_dict_file):
    gui, capture = window_with_fake_camera(qtbot, make_gui, state_dict_file)
    panel = gui.window.findChild(InsidePanel)
    gui.window.findChild(QDockWidget, DOCK_NAME).show()
    tab = panel.gradcam
    panel.tabs.setCurrentWidget(tab)
    tab.patch.setValue(112)  # four patches: a quick job once frozen
    tab.stride.setValue(112)
    tab.method.setCurrentIndex(tab.method.findData("occlusion"))
    gui.live.actions.start_camera.trigger()
    qtbot.waitUntil(lambda: "press Freeze" in tab.rate.text(), timeout=TIMEOUT)
    assert tab.shown is None and gui.inside.slow.job is None  # never per frame
    with qtbot.waitSignal(gui.inside.slow.explanation_shown, timeout=TIMEOUT):
        gui.live.actions.freeze.trigger()
    assert tab.shown.explanation.method == "occlusion"
    assert tab.shown.display_overlay.shape == gui.session.result.image.shape
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        gui.live.actions.stop.trigger()
