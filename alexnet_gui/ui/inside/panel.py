"""The "Inside the network" dock: kernels, feature maps, Explain and the model's input.

:class:`InsidePanel` is the widget: four tabs, the opacity slider and the main-picture switch; it
turns its controls into one frozen :class:`InspectOptions` and paints the
:class:`InsideViews` that come back, at most :data:`PAINT_RATE` times a second however fast
frames arrive. :mod:`.controller` connects it to the session.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from PyQt5.QtCore import Qt, QTimer, pyqtSignal, pyqtSlot
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

from alexnet_gui.messages import InsideViews, InspectOptions
from alexnet_gui.ui.inside.explain_tab import ExplainTab
from alexnet_gui.ui.inside.features_tab import FeaturesTab
from alexnet_gui.ui.inside.tabs import InputTab, KernelsTab
from alexnet_gui.ui.widgets.grid_view import PixelView

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
        self.gradcam, self.model_input = ExplainTab(), InputTab()  # gradcam: the Explain tab
        self.tabs = QTabWidget()
        for tab, title in ((self.kernels, "Kernels"), (self.features, "Feature maps"),
                           (self.gradcam, "Explain"), (self.model_input, "Model input")):
            self.tabs.addTab(tab, title)
        self.on_main = QCheckBox("On the picture")
        self.on_main.setToolTip("Show the clicked feature map or the explanation over the "
                                "picture, inside the crop the model sees (still images)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setTracking(False)  # one redraw when the slider is let go, not fifty
        self.opacity.setToolTip("Opacity of the overlays")
        self.opacity.setMinimumWidth(30)
        footer = QHBoxLayout()  # short: the dock may be ~300 px wide
        footer.addWidget(self.on_main)
        footer.addStretch(1)
        footer.addWidget(QLabel("Opacity:"))
        footer.addWidget(self.opacity)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(footer)
        self._usual_placeholders: dict[PixelView, str] = {}  # while show_pending's text shows
        self.views: InsideViews | None = None  # painted
        self.latest: InsideViews | None = None  # received; painted soon
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
        fields: dict[str, Any] = {}  # InspectOptions' fields by name
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
        if tab is self.gradcam:  # a slow method's map comes from its job, not with the views
            shown = self.gradcam.shown if self.gradcam.slow else views.gradcam
            return None if shown is None else shown.display_overlay
        return None

    def reset_for_model(self, categories: Sequence[str] = ()) -> None:
        """A new model: Explain follows its top-1 again (class numbers changed meaning)."""
        self.gradcam.reset(categories)
        self._send(rerun=False)

    def show_pending(self, text: str) -> None:
        """Say ``text`` where a tab has nothing to show yet: the first seconds after a start,
        the top-5 comes from the fast engine while the full network still loads."""
        for view in (self.kernels.grid, self.features.grid, self.gradcam.view,
                     self.model_input.view):
            if view.array is None:
                self._usual_placeholders.setdefault(view, view.placeholder)
                view.set_placeholder(text)

    def show_views(self, views: InsideViews) -> None:
        for view, text in self._usual_placeholders.items():  # the network is there now
            view.set_placeholder(text)
        self._usual_placeholders.clear()
        """Take the newest result; paint it now or, if the last paint is recent, a bit later."""
        if views.options.gradcam:
            self.gradcam.meter.add(fresh=views.gradcam_fresh, frame=views.frame)
        self._due = self.latest = views
        if self.isVisible() and not self._timer.isActive():
            wait = 1.0 / PAINT_RATE - (time.monotonic() - self._painted_at)
            self._timer.start(max(0, round(wait * 1000)))

    def showEvent(self, event: QShowEvent | None) -> None:
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
