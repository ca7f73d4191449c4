"""The feature-map tab: one layer's channels as a grid; a click enlarges a map and overlays it.

The layer list is filled from the layer names the worker reports, so both AlexNets (the paper's
has LRN layers) offer exactly what they have. The grid, the enlarged map and the overlay all come
drawn from the worker; this tab paints them and turns clicks into options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt5.QtCore import pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.ui.inside.tabs import caption_label, choice_box
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
        self.channel: int | None = None
        self.features: FeatureGrid | None = None
        controls = QGridLayout()
        controls.addWidget(QLabel("Layer:"), 0, 0)
        controls.addWidget(self.layer, 0, 1)
        controls.addWidget(QLabel("Colours:"), 0, 2)
        controls.addWidget(self.colours, 0, 3)
        controls.addWidget(self.sort, 1, 0, 1, 2)
        controls.addWidget(QLabel("Normalise:"), 1, 2)
        controls.addWidget(self.normalisation, 1, 3)
        controls.setColumnStretch(1, 1)
        controls.setColumnStretch(3, 1)
        below = QHBoxLayout()
        below.addWidget(self.enlarged)
        below.addWidget(self.overlay)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(scrolling(self.grid), 1)
        layout.addWidget(self.info)
        layout.addLayout(below)
        self.layer.currentIndexChanged.connect(self._on_layer_changed)
        for box in (self.colours, self.normalisation):
            box.currentIndexChanged.connect(self._on_control_changed)
        self.sort.toggled.connect(self._on_control_changed)
        self.grid.hovered.connect(self._on_grid_hovered)
        self.grid.clicked.connect(self._on_grid_clicked)

    def option_fields(self) -> dict[str, object]:
        return {
            "layer": self.layer.currentText(),
            "sort_by_mean": self.sort.isChecked(),
            "normalisation": self.normalisation.currentData(),
            "colormap": self.colours.currentData(),
            "channel": self.channel,
        }

    def want_layer(self, name: str) -> None:
        """Ask for ``name`` before the model's layer list is known (it is kept if it has it)."""
        if self.layer.count() <= 1:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItem(name)
            self.layer.blockSignals(False)

    def show_views(self, views: InsideViews) -> None:
        self._offer_layers(views.layers, views.network.layer)
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
        self.options_edited.emit()
