"""One unit, the deep-visualization-toolbox way: its backprop image, top-9 patches, optimised input.

A unit is a channel of a feature-map layer (click its map in the grid) or a fc6-fc8 neuron
(chosen by index). The backprop image comes with every inspected picture, drawn by the worker;
the top 9 of a folder and the optimised image come from background jobs that
:class:`~alexnet_gui.ui.inside.unit_controller.UnitController` runs. Each picture saves as PNG
from its right-click menu.
"""

from __future__ import annotations

from PyQt5.QtCore import pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.messages import UnitImage
from alexnet_gui.ui.export import ExportPicture
from alexnet_gui.ui.inside.tabs import caption_label, choice_box, compact
from alexnet_gui.ui.widgets.grid_view import PixelView

#: core.visualize.explain.BACKPROP_MODES, as the list names them.
MODE_LABELS = {"guided": "Guided", "deconv": "Deconvnet"}
#: Layers past the feature maps whose neurons are units too (chosen by index).
DENSE_LAYERS: tuple[str, ...] = ("fc6", "relu6", "fc7", "relu7", "fc8")
#: Units a layer is assumed to have until a result says how many.
MAX_UNITS = 4096
VIEW_HEIGHT = 230
#: The smallest side of the three pictures: the dock shares 800 px of screen with the grid.
VIEW_MIN_SIDE = 64


class JobPage(QWidget):
    """A page run by a background job: buttons, progress, a status line and the picture.

    Signals:
        run_clicked(), cancel_clicked()
    """

    run_clicked = pyqtSignal()
    cancel_clicked = pyqtSignal()

    def __init__(self, run_text: str, *, save_name: str, placeholder: str,
                 extra: list[QWidget] | None = None) -> None:
        super().__init__()
        self.run_button = QPushButton(run_text)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = caption_label()
        self.view = PixelView(save_name=save_name, placeholder=placeholder,
                              min_side=VIEW_MIN_SIDE)
        self.view.setMaximumHeight(VIEW_HEIGHT)
        # The extra controls on a line of their own: the dock may be ~300 px wide.
        extras = QHBoxLayout()
        for widget in extra or []:
            extras.addWidget(widget)
        extras.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        if extra:
            layout.addLayout(extras)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        self.run_button.clicked.connect(self.run_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the first progress report

    def show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def say(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color: #c0392b;" if error else "")
        self.status.setText(text)

    @pyqtSlot(str)
    def say_error(self, text: str) -> None:
        self.say(text, error=True)


class UnitView(QWidget):
    """The selected unit (layer and index) and its three pictures, one per tab.

    Signals:
        unit_changed(): another unit or layer was chosen.
        mode_changed(): deconvnet or guided backprop was chosen.
        page_changed(): another of the three pictures is shown.
    """

    unit_changed = pyqtSignal()
    mode_changed = pyqtSignal()
    page_changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unitView")
        self.layer = QComboBox()
        self.layer.addItems(("conv1", *DENSE_LAYERS))
        self.layer.setToolTip("A feature-map layer (or click a map in the grid), or fc6–fc8")
        self.unit = QSpinBox()
        self.unit.setRange(0, MAX_UNITS - 1)
        self.unit.setToolTip("The unit's index: a channel, or a neuron of fc6–fc8")
        self.strongest = caption_label("")
        self.mode = choice_box(MODE_LABELS)
        self.mode.setToolTip("Deconvnet (Zeiler & Fergus 2014) or guided backpropagation "
                             "(Springenberg et al. 2015) of the unit's strongest activation")
        self.backprop = PixelView(save_name="unit-backprop.png", min_side=VIEW_MIN_SIDE,
                                  placeholder="The unit's image appears with the next picture")
        self.backprop.setMaximumHeight(VIEW_HEIGHT)
        self.folder_button = compact(QPushButton("Folder…"))
        self.folder_button.setToolTip("The folder whose images are searched for the top 9")
        self.top9 = JobPage("Find", save_name="unit-top9.png",
                            placeholder="Pick a folder: its 9 patches that excite the unit most",
                            extra=[self.folder_button])
        self.steps = QSpinBox()
        self.steps.setRange(10, 2000)
        self.steps.setValue(150)
        steps_label = QLabel("Steps:")
        steps_label.setToolTip("Gradient-ascent steps (jitter, blur every 4 steps, L2 decay)")
        self.steps.setToolTip("Gradient-ascent steps (jitter, blur every 4 steps, L2 decay)")
        self.optimised = JobPage("Optimise", save_name="unit-optimised.png",
                                 placeholder="An image optimised to excite the unit",
                                 extra=[steps_label, self.steps])
        self.pages = QTabWidget()
        self.pages.addTab(self.backprop, "Backprop")
        self.pages.addTab(self.top9, "Top 9")
        self.pages.addTab(self.optimised, "Optimised")
        header = QGridLayout()
        header.addWidget(self.layer, 0, 0)
        header.addWidget(self.unit, 0, 1)
        header.addWidget(self.mode, 1, 0, 1, 2)  # a row of its own: the dock may be ~300 px
        header.setColumnStretch(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.strongest)
        layout.addWidget(self.pages, 1)
        self.layer.currentIndexChanged.connect(self._on_selection_changed)
        self.unit.valueChanged.connect(self._on_selection_changed)
        self.mode.currentIndexChanged.connect(self._on_mode_changed)
        self.pages.currentChanged.connect(self._on_pages_current_changed)
        self._stems()

    @property
    def selected(self) -> tuple[str, int]:
        return self.layer.currentText(), self.unit.value()

    def select(self, layer: str, unit: int) -> None:
        """Select ``unit`` of ``layer`` (a clicked map), emitting ``unit_changed`` once."""
        if (layer, unit) == self.selected:
            return
        self._quietly(layer, unit)
        self._on_selection_changed()

    def set_layers(self, layers: tuple[str, ...]) -> None:
        """Offer the model's feature-map layers and fc6-fc8; keep the choice if it is there."""
        wanted = (*layers, *DENSE_LAYERS)
        if [self.layer.itemText(i) for i in range(self.layer.count())] == list(wanted):
            return
        current = self.layer.currentText()
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItems(wanted)
        self.layer.setCurrentIndex(max(0, self.layer.findText(current)))
        self.layer.blockSignals(False)
        if self.layer.currentText() != current:
            self._on_selection_changed()

    def option_fields(self, *, active: bool) -> dict[str, object]:
        """InspectOptions' unit fields; no unit while the backprop image is not on screen."""
        shown = active and self.pages.currentIndex() == 0
        layer, unit = self.selected
        return {"unit_layer": layer if shown else None, "unit": unit if shown else None,
                "unit_mode": self.mode.currentData()}

    def export_pictures(self) -> list[ExportPicture]:
        """The selected unit's pictures that are drawn (backprop, top 9, optimised), each with
        what it shows, for File > Export Result."""
        layer, unit = self.selected
        pages = (("backprop", self.backprop, self.strongest.text()),
                 ("top9", self.top9.view, self.top9.status.text()),
                 ("optimised", self.optimised.view, self.optimised.status.text()))
        pictures = []
        for kind, view, caption in pages:
            if view.array is None:
                continue
            record: dict[str, object] = {"layer": layer, "unit": unit, "picture": kind,
                                         "caption": caption}
            if kind == "backprop":
                record["mode"] = self.mode.currentData()
            pictures.append(ExportPicture(f"unit-{layer}-{unit}-{kind}", view.array, record))
        return pictures

    def show_unit(self, image: UnitImage | None) -> None:
        """Paint the worker's unit image, if it is of the unit selected now."""
        if image is None or (image.layer, image.unit) != self.selected:
            return
        if self.unit.maximum() != image.count - 1 and image.count > 0:
            self.unit.blockSignals(True)
            self.unit.setMaximum(image.count - 1)
            self.unit.blockSignals(False)
        best = ", ".join(f"{i} ({v:.3g})" for i, v in image.top)
        self.strongest.setText(f"Unit {image.unit} of {image.count}: {image.value:.4g} here. "
                               f"Strongest here: {best}" if image.image is not None
                               else image.message)
        self.backprop.set_array(image.image)

    def _quietly(self, layer: str, unit: int) -> None:
        for widget in (self.layer, self.unit):
            widget.blockSignals(True)
        if self.layer.findText(layer) < 0:
            self.layer.addItem(layer)
        self.layer.setCurrentIndex(self.layer.findText(layer))
        self.unit.setMaximum(max(self.unit.maximum(), unit))
        self.unit.setValue(unit)
        for widget in (self.layer, self.unit):
            widget.blockSignals(False)

    def _stems(self) -> None:
        layer, unit = self.selected
        stem = f"unit-{layer}-{unit}"
        self.backprop.save_name = f"{stem}-{self.mode.currentData()}.png"
        self.top9.view.save_name = f"{stem}-top9.png"
        self.optimised.view.save_name = f"{stem}-optimised.png"

    @pyqtSlot()
    def _on_selection_changed(self) -> None:
        self.unit.setMaximum(MAX_UNITS - 1)  # until the worker says how many the layer has
        self.strongest.setText("")
        self.backprop.set_array(None)
        self._stems()
        self.unit_changed.emit()

    @pyqtSlot()
    def _on_mode_changed(self) -> None:
        self._stems()
        self.mode_changed.emit()

    @pyqtSlot(int)
    def _on_pages_current_changed(self, _index: int) -> None:
        self.page_changed.emit()
