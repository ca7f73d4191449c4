"""The "Inside the network" dock: kernels, feature maps, Grad-CAM and the model's input.

:class:`InsidePanel` is the widget: four tabs, the opacity slider and the main-picture switch; it
turns its controls into one frozen :class:`InspectOptions` and paints the
:class:`InsideViews` that come back, at most :data:`PAINT_RATE` times a second however fast
frames arrive. :func:`attach_inside_panel` docks it in the main window and wires it: the panel
asks for inspection only while it is visible, so a hidden panel costs the worker nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QShowEvent
from PyQt5.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.messages import ClassifyResult, InsideViews, InspectOptions
from alexnet_gui.ui.inside.features_tab import FeaturesTab
from alexnet_gui.ui.inside.tabs import GradCamTab, InputTab, KernelsTab
from alexnet_gui.ui.widgets.grid_view import PixelView

if TYPE_CHECKING:
    from PyQt5.QtWidgets import QDockWidget

    from alexnet_gui.messages import ModelStatus
    from alexnet_gui.ui.main_window import MainWindow

PAINT_RATE = 10.0  # repaints per second at most; a camera delivers results faster than that
DOCK_NAME = "insideDock"


class InsidePanel(QWidget):
    """The tabs, their options and the throttled painting of what the worker drew.

    Signals:
        options_changed(InspectOptions, bool): the options changed; ``True`` when the picture must
            be inspected again to show them (``False``: a quiet correction).
        main_overlay_changed(): what the main picture should show changed (tab, switch).
        views_painted(InsideViews): a result is now painted in the panel.
    """

    options_changed = pyqtSignal(object, bool)
    main_overlay_changed = pyqtSignal()
    views_painted = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insidePanel")
        self.kernels, self.features = KernelsTab(), FeaturesTab()
        self.gradcam, self.model_input = GradCamTab(), InputTab()
        self.tabs = QTabWidget()
        for tab, title in ((self.kernels, "Kernels"), (self.features, "Feature maps"),
                           (self.gradcam, "Grad-CAM"), (self.model_input, "Model input")):
            self.tabs.addTab(tab, title)
        self.on_main = QCheckBox("Overlay on the main picture")
        self.on_main.setToolTip("Show the clicked feature map or the Grad-CAM map over the "
                                "picture, inside the crop the model sees (still images)")
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setTracking(False)  # one redraw when the slider is let go, not fifty
        self.opacity.setToolTip("Opacity of the overlays")
        footer = QHBoxLayout()
        footer.addWidget(self.on_main)
        footer.addStretch(1)
        footer.addWidget(QLabel("Opacity:"))
        footer.addWidget(self.opacity)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(footer)
        self.views: InsideViews | None = None  # painted
        self.latest: InsideViews | None = None  # received; painted soon
        self.controller: InsideController | None = None
        self._due: InsideViews | None = None
        self._sent = self.options()
        self._painted_at = -1e9
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        for tab in (self.kernels, self.features, self.gradcam):
            tab.options_edited.connect(self._on_tab_options_edited)
        self.opacity.valueChanged.connect(self._on_opacity_value_changed)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.on_main.toggled.connect(self._on_on_main_toggled)
        self._enable_on_main()

    @property
    def pixel_views(self) -> list[PixelView]:
        return self.findChildren(PixelView)

    def options(self) -> InspectOptions:
        """The options the controls describe now."""
        fields: dict[str, object] = {}
        for tab in (self.kernels, self.features, self.gradcam):
            fields.update(tab.option_fields())
        fields["opacity"] = self.opacity.value() / 100.0
        fields["gradcam"] = self.tabs.currentWidget() is self.gradcam
        return dataclasses.replace(InspectOptions(), **fields)

    def restore(self, *, tab: int, layer: str) -> None:
        """Open on the tab and layer of the last session (the layer list fills in later)."""
        self.tabs.blockSignals(True)
        self.tabs.setCurrentIndex(max(0, min(tab, self.tabs.count() - 1)))
        self.tabs.blockSignals(False)
        self.features.want_layer(layer)
        self._enable_on_main()
        self._sent = self.options()

    def main_overlay(self) -> np.ndarray | None:
        """The picture-sized overlay of the current tab, if the switch asks for one."""
        views = self.latest
        if views is None or not self.on_main.isChecked():
            return None
        tab = self.tabs.currentWidget()
        if tab is self.features and views.channel is not None:
            return views.channel.display_overlay
        if tab is self.gradcam and views.gradcam is not None:
            return views.gradcam.display_overlay
        return None

    def reset_for_model(self) -> None:
        """A new model: Grad-CAM follows its top-1 again (class numbers changed meaning)."""
        self.gradcam.reset()
        self._send(rerun=False)

    def show_views(self, views: InsideViews) -> None:
        """Take the newest result; paint it now or, if the last paint is recent, a bit later."""
        if views.options.gradcam:
            self.gradcam.meter.add(fresh=views.gradcam_fresh, frame=views.frame)
        self._due = self.latest = views
        if self.isVisible() and not self._timer.isActive():
            wait = 1.0 / PAINT_RATE - (time.monotonic() - self._painted_at)
            self._timer.start(max(0, round(wait * 1000)))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._due is not None and not self._timer.isActive():
            self._timer.start(0)

    def _paint(self) -> None:
        views, self._due = self._due, None
        if views is None:
            return
        self._painted_at = time.monotonic()
        self.views = views
        for tab in (self.kernels, self.features, self.gradcam, self.model_input):
            tab.show_views(views)
        if self.options() != self._sent:
            self._send(rerun=False)  # e.g. a layer this model lacks was replaced in the list
        self.views_painted.emit(views)

    def _enable_on_main(self) -> None:
        self.on_main.setEnabled(self.tabs.currentWidget() in (self.features, self.gradcam))

    def _send(self, *, rerun: bool) -> None:
        self._sent = self.options()
        self.options_changed.emit(self._sent, rerun)

    @pyqtSlot()
    def _on_timer_timeout(self) -> None:
        self._paint()

    @pyqtSlot()
    def _on_tab_options_edited(self) -> None:
        self._send(rerun=True)

    @pyqtSlot(int)
    def _on_opacity_value_changed(self, _value: int) -> None:
        self._send(rerun=True)

    @pyqtSlot(int)
    def _on_tabs_current_changed(self, _index: int) -> None:
        if self.options() != self._sent:
            self._send(rerun=True)  # Grad-CAM is computed only while its tab is shown
        self._enable_on_main()
        self.main_overlay_changed.emit()

    @pyqtSlot(bool)
    def _on_on_main_toggled(self, _checked: bool) -> None:
        self.main_overlay_changed.emit()


class InsideController(QObject):
    """Connects the panel, its dock, the main window and the worker's inspector options."""

    def __init__(self, window: MainWindow, dock: QDockWidget, panel: InsidePanel,
                 set_options: Callable[[InspectOptions], None]) -> None:
        super().__init__(panel)
        self._window, self._panel = window, panel
        self._set_options = set_options
        self._inspecting = False
        self._on_main: np.ndarray | None = None  # the overlay we put on the main picture
        panel.restore(tab=window.settings.inside_tab, layer=window.settings.inside_layer)
        set_options(panel.options())
        for view in panel.pixel_views:
            view.save_folder = self._save_folder
            view.saved.connect(self._on_view_saved)
            view.save_failed.connect(window.messages.show_message)
        panel.options_changed.connect(self._on_panel_options_changed)
        panel.main_overlay_changed.connect(self._on_panel_main_overlay_changed)
        panel.tabs.currentChanged.connect(self._on_tabs_current_changed)
        dock.visibilityChanged.connect(self._on_dock_visibility_changed)
        window.result_shown.connect(self._on_window_result_shown)
        window.inference.model_loaded.connect(self._on_inference_model_loaded)

    @property
    def main_picture(self) -> np.ndarray | None:
        """The overlay this controller put on the main picture, if any."""
        return self._on_main

    def _save_folder(self) -> Path:
        folder = Path(self._window.settings.last_folder or Path.home())
        return folder if folder.is_dir() else Path.home()

    def _update_main_picture(self) -> None:
        """Put the current tab's overlay on a still picture, or take ours off again."""
        window, result = self._window, self._window.result
        if result is None or window.live.showing:
            return  # live frames are painted as they come; an overlay would flicker
        wanted = self._panel.main_overlay() if self._inspecting else None
        if wanted is self._on_main:
            return
        window.view.show_frame(result.image if wanted is None else wanted)
        self._on_main = wanted

    @pyqtSlot(bool)
    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible != self._inspecting:
            self._inspecting = visible
            self._window.set_inspect(visible)  # re-runs the current picture with views
            self._update_main_picture()

    @pyqtSlot(object)
    def _on_window_result_shown(self, result: ClassifyResult) -> None:
        self._on_main = None  # the window has just painted the plain picture
        if isinstance(result.views, InsideViews):
            self._panel.show_views(result.views)
            self._update_main_picture()

    @pyqtSlot(object, bool)
    def _on_panel_options_changed(self, options: InspectOptions, rerun: bool) -> None:
        self._set_options(options)
        if options.layer != self._window.settings.inside_layer:
            self._window.update_settings(inside_layer=options.layer)
        if rerun and self._inspecting:
            self._window.resubmit()  # live, this re-runs the newest frame: no step back in time

    @pyqtSlot()
    def _on_panel_main_overlay_changed(self) -> None:
        self._update_main_picture()

    @pyqtSlot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        self._window.update_settings(inside_tab=index)

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, _status: ModelStatus) -> None:
        self._panel.reset_for_model()

    @pyqtSlot(str)
    def _on_view_saved(self, path: str) -> None:
        self._window.statusBar().showMessage(f"Saved {Path(path).name}", 5000)


def attach_inside_panel(window: MainWindow,
                        set_options: Callable[[InspectOptions], None]) -> InsidePanel:
    """Dock the panel (hidden until the View menu shows it, or the saved layout had it)."""
    panel = InsidePanel()
    dock = window.add_dock(panel, "Inside the network", object_name=DOCK_NAME,
                           area=Qt.RightDockWidgetArea, hidden=True)
    panel.controller = InsideController(window, dock, panel, set_options)
    return panel
