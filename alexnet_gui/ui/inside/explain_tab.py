"""The Explain tab: why the network chose a class, by one of seven methods, as a heat map.

The cheap methods (Grad-CAM, Grad-CAM++, LayerCAM, guided backpropagation, guided Grad-CAM) are
drawn by the inference worker with every request while the tab is shown, at a capped rate on
video. Score-CAM and occlusion take one forward pass per channel or patch, seconds on a CPU: the
tab shows a progress bar, Run and Cancel for them, and :mod:`.slow_explain` runs them as a job on
a still picture. The tab computes nothing; it only turns choices into options and paints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PyQt5.QtCore import Qt, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import (
    QComboBox,
    QCompleter,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.core.visualize.explain_methods import LAYER_METHODS, METHOD_LABELS, SLOW_METHODS
from alexnet_gui.ui.export import ExportPicture
from alexnet_gui.ui.inside.tabs import RateMeter, caption_label, choice_box, compact
from alexnet_gui.ui.widgets.grid_view import PixelView

if TYPE_CHECKING:
    from alexnet_gui.core.visualize.inside import ExplanationView
    from alexnet_gui.messages import InsideViews

CAM_PREFIXES = ("conv", "relu")  # the layers a CAM may read
TOP1 = -1  # the class list's "follow the top-1 class" entry


def describe(view: ExplanationView, *, patch: int, stride: int) -> str:
    """One caption line: which method, layer and class, and how to read the picture."""
    cam = view.explanation
    name = METHOD_LABELS.get(cam.method, cam.method)
    what = f"“{view.label}” ({view.probability:.1%})"
    if cam.method == "occlusion":
        return (f"{name} ({patch} px patches, stride {stride}) for {what}: bright is where "
                "covering the picture lowers the class's probability most.")
    if cam.method == "guided-backprop":
        return f"{name} for {what}: the input pixels whose change raises the class score most."
    if cam.method == "guided-gradcam":
        return (f"{name} at {cam.layer} for {what}: the pixels that raise the class score, "
                "where Grad-CAM finds its evidence.")
    return f"{name} at {cam.layer}: evidence for {what}; bright is where the class score grows."


class ExplainTab(QWidget):
    """Method, class, layer and occlusion settings; the explanation; Run/Cancel for slow ones.

    Signals:
        options_edited(): a choice changed; the picture must be explained again.
        run_clicked(): run the slow method on the picture now (after a Cancel, say).
        cancel_clicked(): stop the running slow method.
    """

    options_edited = pyqtSignal()
    run_clicked = pyqtSignal()
    cancel_clicked = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = choice_box(METHOD_LABELS)
        self.method.setToolTip("How the evidence is found; Score-CAM and occlusion take seconds")
        self.layer = QComboBox()
        self.layer.setToolTip("The layer a CAM method reads; relu5 is the usual choice")
        self.target = QComboBox()
        self.target.setToolTip("The class whose evidence is shown")
        self.target.addItem("Top-1 class (follows the image)", TOP1)
        for box, letters in ((self.method, 6), (self.layer, 4), (self.target, 7)):
            box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(letters)  # the dock may be narrow: shrink, do not clip
        self.any_class = QLineEdit()
        self.any_class.setMinimumWidth(60)
        self.any_class.setPlaceholderText("Any class: name or number")
        self.any_class.setClearButtonEnabled(True)
        self.patch, self.stride = _pixels(32, "Side of the grey square"), _pixels(16, "Its step")
        self.view = PixelView(save_name="explanation.png",
                              placeholder="The explanation appears with the next image or frame.")
        self.caption, self.rate = caption_label(), caption_label()
        self.progress = QProgressBar()
        self.run_button, self.cancel_button = QPushButton("Run"), QPushButton("Cancel")
        self.save_button = QPushButton("Save PNG…")
        self.save_button.setToolTip("Save the explanation over the model's input as a PNG")
        self.meter = RateMeter()
        self.shown: ExplanationView | None = None  # what the view paints now
        self.estimate_s: float | None = None  # the worker's guess for the slow method
        self._categories: tuple[str, ...] = ()
        self._entries: tuple[tuple[int, str], ...] = ()
        self._labels: dict[int, str] = {}
        self._build()
        self.method.currentIndexChanged.connect(self._on_choice_changed)
        self.layer.currentIndexChanged.connect(self._on_choice_changed)
        self.target.currentIndexChanged.connect(self._on_choice_changed)
        self.patch.valueChanged.connect(self._on_choice_changed)
        self.stride.valueChanged.connect(self._on_choice_changed)
        self.any_class.returnPressed.connect(self._on_any_class_return_pressed)
        self.run_button.clicked.connect(self.run_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.set_running(False)
        self._enable_controls()

    def _build(self) -> None:
        # A label column and narrow rows: the panel fits the ~300 px dock of a 1280x800 screen.
        choices = QGridLayout()
        choices.addWidget(QLabel("Method:"), 0, 0)
        choices.addWidget(self.method, 0, 1, 1, 2)
        choices.addWidget(QLabel("Layer:"), 1, 0)
        choices.addWidget(self.layer, 1, 1)
        choices.addWidget(QLabel("Class:"), 2, 0)
        choices.addWidget(self.target, 2, 1, 1, 2)
        choices.addWidget(self.any_class, 1, 2)
        choices.setColumnStretch(1, 1)
        choices.setColumnStretch(2, 1)
        self.occlusion_row = QWidget()
        third = QHBoxLayout(self.occlusion_row)
        third.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Patch:"), self.patch, QLabel("Stride:"), self.stride):
            third.addWidget(widget)
        third.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        for button in (self.run_button, self.cancel_button, self.save_button):
            buttons.addWidget(compact(button))
        layout = QVBoxLayout(self)
        layout.addLayout(choices)
        layout.addWidget(self.occlusion_row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.rate)
        layout.addLayout(buttons)

    # -- the options ----------------------------------------------------------------------------

    @property
    def slow(self) -> bool:
        return self.method.currentData() in SLOW_METHODS

    @property
    def method_label(self) -> str:
        return METHOD_LABELS[self.method.currentData()]

    def option_fields(self) -> dict[str, object]:
        chosen = self.target.currentData()
        return {"class_index": None if chosen in (None, TOP1) else int(chosen),
                "method": self.method.currentData(),
                "explain_layer": self.layer.currentData(),
                "occlusion_patch": self.patch.value(),
                "occlusion_stride": self.stride.value()}

    def reset(self, categories: Sequence[str] = ()) -> None:
        """A new model: its classes differ, so follow the top-1 again and offer its names."""
        self._labels = dict(enumerate(categories))
        self._categories = tuple(categories)
        self._entries = ()
        self.target.blockSignals(True)
        self.target.setCurrentIndex(0)
        while self.target.count() > 1:
            self.target.removeItem(1)
        self.target.blockSignals(False)
        completer = QCompleter(list(self._categories), self.any_class)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.any_class.setCompleter(completer)
        self.any_class.clear()
        self.show_explanation(None)

    def choose_class(self, text: str) -> bool:
        """Explain the class named (or numbered) ``text``; ``False``, with a note, if none is."""
        index = find_class(self._categories, text)
        if index is None:
            self.caption.setText(f"No class “{text.strip()}” in this model's "
                                 f"{len(self._categories)} classes.")
            return False
        self._labels.setdefault(index, self._categories[index])
        position = self.target.findData(index)
        if position < 0:
            self.target.addItem(f"{self._labels[index]} (not in top 5)", index)
            position = self.target.count() - 1
        self.target.setCurrentIndex(position)  # emits options_edited when it changes
        return True

    def export_pictures(self) -> list[ExportPicture]:
        """The explanation shown, over the model's input, for File > Export Result."""
        view = self.shown
        if view is None:
            return []
        cam = view.explanation
        record: dict[str, object] = {
            "method": cam.method, "layer": cam.layer, "class_index": cam.class_index,
            "label": view.label, "score": round(cam.score, 6), "caption": self.caption.text()}
        if cam.method == "occlusion":
            record.update(patch=self.patch.value(), stride=self.stride.value())
        return [ExportPicture(f"explain-{cam.method}", view.crop_overlay, record)]

    # -- painting -------------------------------------------------------------------------------

    def show_views(self, views: InsideViews) -> None:
        self._offer(views)
        self._offer_layers(views.layers)
        if self.slow:
            self.estimate_s = views.explain_estimate_s
            return  # the slow runner paints the job's result and says what it waits for
        self.rate.setText(self.meter.text(self.method_label))
        if views.gradcam is not None:  # computed only while this tab is shown
            self.show_explanation(views.gradcam)

    def show_explanation(self, view: ExplanationView | None) -> None:
        """Paint ``view`` (``None``: clear, e.g. a slow result that no longer fits the picture)."""
        self.shown = view
        self.view.set_array(None if view is None else view.crop_overlay)
        self.save_button.setEnabled(view is not None)
        self.caption.setText("" if view is None else
                             describe(view, patch=self.patch.value(), stride=self.stride.value()))

    def set_running(self, running: bool) -> None:
        """The slow method's job runs (progress and Cancel) or not (Run, if a method is slow)."""
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self.cancel_button.setVisible(running)
        self.run_button.setVisible(self.slow and not running)

    def show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _offer(self, views: InsideViews) -> None:
        """List the current top 5 (and the chosen class, should it have dropped out)."""
        scores = views.network.prediction.scores[:5]
        self._labels.update((s.index, s.label) for s in scores)
        chosen = self.option_fields()["class_index"]  # None or an int
        entries = tuple((s.index, f"{s.rank}. {s.label}") for s in scores)
        if isinstance(chosen, int) and chosen not in {s.index for s in scores}:
            entries += ((chosen, f"{self._labels.get(chosen, chosen)} (not in top 5)"),)
        if entries == self._entries:
            return  # unchanged: rebuilding would close an open list on every frame
        self._entries = entries
        self.target.blockSignals(True)
        while self.target.count() > 1:
            self.target.removeItem(1)
        for index, text in entries:
            self.target.addItem(text, index)
        self.target.setCurrentIndex(max(0, self.target.findData(TOP1 if chosen is None
                                                                else chosen)))
        self.target.blockSignals(False)

    def _offer_layers(self, layers: tuple[str, ...]) -> None:
        """The conv and ReLU layers of this model; the last ReLU (relu5) unless one was chosen."""
        names = [name for name in layers if name.startswith(CAM_PREFIXES)]
        if [self.layer.itemData(i) for i in range(self.layer.count())] == names:
            return
        chosen = self.layer.currentData()
        self.layer.blockSignals(True)
        self.layer.clear()
        for name in names:
            self.layer.addItem(name, name)
        relus = [name for name in names if name.startswith("relu")]
        fallback = relus[-1] if relus else names[-1] if names else None
        wanted = chosen if chosen in names else fallback
        self.layer.setCurrentIndex(max(0, self.layer.findData(wanted)))
        self.layer.blockSignals(False)

    def _enable_controls(self) -> None:
        method = self.method.currentData()
        self.layer.setEnabled(method in LAYER_METHODS)
        self.occlusion_row.setVisible(method == "occlusion")
        self.set_running(self.progress.isVisible())
        if not self.slow:
            self.rate.setText("")

    @pyqtSlot(int)
    def _on_choice_changed(self, _value: int) -> None:
        if self.sender() is self.method:
            self._enable_controls()
            self.show_explanation(None)  # another method's picture would mislead
        self.options_edited.emit()

    @pyqtSlot()
    def _on_any_class_return_pressed(self) -> None:
        if self.choose_class(self.any_class.text()):
            self.any_class.clear()

    @pyqtSlot()
    def _on_save_button_clicked(self) -> None:
        self.view.save_png()


def find_class(categories: Sequence[str], text: str) -> int | None:
    """The class ``text`` names: a number, an exact name, or the one name that contains it."""
    text = text.strip()
    if text.isdigit():
        index = int(text)
        return index if 0 <= index < len(categories) else None
    folded = text.casefold()
    if not folded:
        return None
    for index, name in enumerate(categories):
        if name.casefold() == folded:
            return index
    matches = [index for index, name in enumerate(categories) if folded in name.casefold()]
    return matches[0] if len(matches) == 1 else None


def _pixels(value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(1, 256)
    box.setValue(value)
    box.setSuffix(" px")
    box.setToolTip(f"{tip}, in pixels of the model's input")
    box.setKeyboardTracking(False)  # one run when the number is typed, not one per digit
    return box
