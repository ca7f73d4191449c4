"""The feature-map tab: one layer's channels as a grid; a click enlarges a map and selects a unit.

The layer list is filled from the layer names the worker reports, so both AlexNets (the paper's
has LRN layers) offer exactly what they have. The grid, the enlarged map and the overlay all come
drawn from the worker; this tab paints them and turns clicks into options. Below the grid, "Map"
shows the clicked map enlarged and overlaid, "Unit" the :class:`UnitView` of the clicked channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt5.QtCore import Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QShowEvent
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.ui.inside.tabs import caption_label, choice_box
from alexnet_gui.ui.inside.unit_view import UnitView
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.widgets.grid_view import PixelView, scrolling

if TYPE_CHECKING:
    from alexnet_gui.core.visualize.drawing import FeatureGrid
    from alexnet_gui.messages import InsideViews

#: core.visualize.NORMALISATIONS and COLORMAPS, as the lists name them.
NORMALISATION_LABELS = {"map": "Each map", "layer": "Whole layer"}
COLORMAP_LABELS = {"viridis": "Viridis", "inferno": "Inferno", "gray": "Grey"}
HINT = ("Hover over a map for its statistics; click it to enlarge it and overlay it on the "
        "image. Ctrl+wheel zooms the grid.")


class FeaturesTab(QWidget):
    """Layer, order, normalisation and colours of the grid; the clicked map, enlarged.

    Signals:
        options_edited(): a control or a click changed what the worker must draw.
    """

    options_edited = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = QComboBox()
        self.layer.addItem("conv1")
        self.layer.setToolTip("Every conv, ReLU, LRN and pooling layer up to pool5")
        self.colours = choice_box(COLORMAP_LABELS)
        self.sort = QCheckBox("Sort by mean activation")
        self.colours.setToolTip("The colour map the activations are drawn in")
        self.normalisation = choice_box(NORMALISATION_LABELS)
        self.normalisation.setToolTip("Each map stretched on its own shows the pattern of weak "
                                      "maps; one range for the layer shows which maps are strong.")
        self.grid = PixelView(save_name="features-conv1.png",
                              placeholder="Feature maps appear with the first image.")
        self.info = caption_label(HINT)
        self.enlarged = PixelView(save_name="feature-map.png", min_side=100,
                                  placeholder="Click a map to enlarge it")
        self.overlay = PixelView(save_name="feature-map-overlay.png", min_side=100,
                                 placeholder="…and to see it over the model's input")
        for view in (self.enlarged, self.overlay):
            view.setMaximumHeight(200)
        self.unit_view = UnitView()
        self.channel: int | None = None
        self.features: FeatureGrid | None = None
        # Short rows: the panel fits the ~300 px dock of a 1280x800 screen.
        controls = QVBoxLayout()
        for row_widgets in ((QLabel("Layer:"), self.layer, self.colours),
                            (QLabel("Normalise:"), self.normalisation), (self.sort,)):
            row = QHBoxLayout()
            for widget in row_widgets:
                row.addWidget(widget, 0 if isinstance(widget, QLabel | QCheckBox) else 1)
            controls.addLayout(row)
        map_page = QWidget()
        maps = QHBoxLayout(map_page)
        maps.setContentsMargins(2, 2, 2, 2)
        maps.addWidget(self.enlarged)
        maps.addWidget(self.overlay)
        self.below = QTabWidget()
        self.below.addTab(map_page, "Map")
        # Scrolled, so that the unit's controls do not hold the grid above to a sliver.
        self.unit_page = scrolling(self.unit_view)
        self.below.addTab(self.unit_page, "Unit")
        self.below.setToolTip("The clicked map, or the clicked unit: its backprop image, its "
                              "top 9 patches in a folder and an image optimised to excite it")
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        top = QWidget()
        grid_and_info = QVBoxLayout(top)
        grid_and_info.setContentsMargins(0, 0, 0, 0)
        grid_and_info.addWidget(scrolling(self.grid), 1)
        grid_and_info.addWidget(self.info)
        self.splitter = QSplitter(Qt.Orientation.Vertical)  # the user shares the height out
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.below)
        self.splitter.setStretchFactor(0, 1)
        self._heights_shared = False  # the first time the tab is shown: see showEvent
        layout.addWidget(self.splitter, 1)
        self.layer.currentIndexChanged.connect(self._on_layer_changed)
        for box in (self.colours, self.normalisation):
            box.currentIndexChanged.connect(self._on_control_changed)
        self.sort.toggled.connect(self._on_control_changed)
        self.grid.hovered.connect(self._on_grid_hovered)
        self.grid.clicked.connect(self._on_grid_clicked)
        for signal in (self.unit_view.unit_changed, self.unit_view.mode_changed,
                       self.unit_view.page_changed, self.below.currentChanged):
            signal.connect(self._on_control_changed)
        self.below.currentChanged.connect(self._on_below_current_changed)

    def option_fields(self) -> dict[str, object]:
        return {
            "layer": self.layer.currentText(),
            "sort_by_mean": self.sort.isChecked(),
            "normalisation": self.normalisation.currentData(),
            "colormap": self.colours.currentData(),
            "channel": self.channel,
            **self.unit_view.option_fields(active=self.unit_shown()),
        }

    def unit_shown(self) -> bool:
        """Whether the unit view is on screen (this tab is the panel's current one)."""
        return not self.isHidden() and self.below.currentWidget() is self.unit_page

    def want_layer(self, name: str) -> None:
        """Ask for ``name`` before the model's layer list is known (it is kept if it has it)."""
        if self.layer.count() <= 1:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItem(name)
            self.layer.blockSignals(False)

    def show_views(self, views: InsideViews) -> None:
        self._offer_layers(views.layers, views.network.layer)
        self.unit_view.set_layers(views.layers)
        self.unit_view.show_unit(views.unit)
        features = views.network.features
        if features is None:
            return
        self.features = features
        self.grid.set_array(features.image)
        self.grid.save_name = f"features-{features.layer}.png"
        self._show_hint()
        chosen = views.channel
        if chosen is None or chosen.layer != features.layer:
            self.enlarged.set_array(None)
            self.overlay.set_array(None)
            self.grid.set_highlight(None)
            return
        self.enlarged.set_array(chosen.image)
        self.overlay.set_array(chosen.crop_overlay)
        stem = f"feature-{chosen.layer}-{chosen.channel}"
        self.enlarged.save_name, self.overlay.save_name = f"{stem}.png", f"{stem}-overlay.png"
        position = features.order.index(chosen.channel)
        x, y = features.geometry.origin(position)
        self.grid.set_highlight((x, y, features.geometry.tile_width,
                                 features.geometry.tile_height))

    def _offer_layers(self, layers: tuple[str, ...], used: str | None) -> None:
        """Refill the list when the model's layers differ; keep the choice if it still exists."""
        current = [self.layer.itemText(i) for i in range(self.layer.count())]
        if list(layers) == current:
            return
        wanted = self.layer.currentText()
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItems(layers)
        index = self.layer.findText(wanted)
        self.layer.setCurrentIndex(index if index >= 0 else max(0, self.layer.findText(used or "")))
        self.layer.blockSignals(False)

    def _show_hint(self) -> None:
        f = self.features
        if f is None:
            return
        count, height = f.geometry.count, f.geometry.tile_height // f.scale
        width = f.geometry.tile_width // f.scale
        order = ", strongest first" if self.sort.isChecked() else ""
        self.info.setText(f"{f.layer}: {count} maps of {width} × {height}{order}. {HINT}")

    def showEvent(self, event: QShowEvent | None) -> None:
        """The first time: three fifths of the height to the grid. Qt's own split follows the
        size hints, which gave the grid of maps a 96 px sliver under the unit's controls."""
        super().showEvent(event)
        if not self._heights_shared:
            self._heights_shared = True
            QTimer.singleShot(0, self._share_heights)  # once the dock has its height

    def _share_heights(self) -> None:
        total = sum(self.splitter.sizes())
        self.splitter.setSizes([total * 3 // 5, total - total * 3 // 5])

    @pyqtSlot(int)
    def _on_below_current_changed(self, _index: int) -> None:
        """The Unit page needs more height than the two maps: grow it to show its picture,
        leaving the grid at least a quarter (a split the user made larger is kept)."""
        if self.below.currentWidget() is not self.unit_page:
            return
        grid, below = self.splitter.sizes()
        wanted = self.unit_view.sizeHint().height() + present(self.below.tabBar()).height() + 8
        if below < wanted:
            total = grid + below
            below = min(wanted, total * 3 // 4)
            self.splitter.setSizes([total - below, below])

    @pyqtSlot(int)
    def _on_layer_changed(self, _index: int) -> None:
        self.channel = None  # channel numbers mean nothing in another layer
        self.options_edited.emit()

    @pyqtSlot()
    def _on_control_changed(self) -> None:
        self.options_edited.emit()

    @pyqtSlot(object)
    def _on_grid_hovered(self, position: tuple[float, float] | None) -> None:
        f = self.features
        channel = None if position is None or f is None else f.channel_at(*position)
        if channel is None:
            self._show_hint()
            return
        assert f is not None
        self.info.setText(f"{f.layer}, channel {channel}: mean {float(f.means[channel]):.4g}, "
                          f"max {float(f.maxima[channel]):.4g}")

    @pyqtSlot(float, float)
    def _on_grid_clicked(self, x: float, y: float) -> None:
        channel = None if self.features is None else self.features.channel_at(x, y)
        if channel is None:
            return
        self.channel = None if channel == self.channel else channel  # a second click closes
        if self.channel is not None and self.features is not None:
            self.unit_view.blockSignals(True)  # one options_edited, below, for both
            self.unit_view.select(self.features.layer, self.channel)
            self.unit_view.blockSignals(False)
        self.options_edited.emit()
