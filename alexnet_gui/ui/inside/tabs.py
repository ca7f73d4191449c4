"""Two tabs of the "Inside the network" panel, conv1's kernels and the model's input, and parts.

(The feature maps and Explain have modules of their own, :mod:`.features_tab` and
:mod:`.explain_tab`.) Each tab shows
an :class:`~alexnet_gui.messages.InsideViews` with ``show_views`` and reports its part of
the options with ``option_fields``; none computes anything but text and array slices.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from PyQt5.QtCore import pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from alexnet_gui.ui.widgets.grid_view import PixelView, scrolling

if TYPE_CHECKING:
    from alexnet_gui.core.visualize.inside import KernelGrid
    from alexnet_gui.messages import InsideViews

#: Kernel normalisations of core.visualize.inside.KERNEL_NORMALISATIONS, as the list names them.
KERNEL_NORMALISATION_LABELS = {"minmax": "Each kernel min–max", "symmetric": "Zero is grey"}


def caption_label(text: str = "") -> QLabel:
    """A word-wrapped, selectable line under a picture."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName("insideCaption")
    return label


#: The fewest letters a choice box shows before it elides.
CHOICE_LETTERS = 4


def compact(button: QPushButton) -> QPushButton:
    """``button`` as wide as its text, not the style's 80 px: more fit the narrow dock."""
    button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 20)
    button.setMaximumWidth(button.minimumWidth() + 24)
    return button


def choice_box(labels: dict[str, str]) -> QComboBox:
    """A combo box of ``labels`` whose item data are the option values.

    It may shrink below its longest label (the popup still shows them whole): the panel must
    fit the ~300 px dock of a 1280x800 screen.
    """
    box = QComboBox()
    for value, label in labels.items():
        box.addItem(label, value)
    box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(CHOICE_LETTERS)
    return box


class KernelsTab(QWidget):
    """conv1's kernels as colour tiles; hover shows a kernel's statistics, a click enlarges it.

    Signals:
        options_edited(): the normalisation changed; the kernels must be drawn again.
    """

    options_edited = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.normalisation = choice_box(KERNEL_NORMALISATION_LABELS)
        self.normalisation.setToolTip("Min–max stretches every kernel over black to white; "
                                      "'zero is grey' keeps the sign of each weight readable.")
        self.summary = QLabel()
        self.grid = PixelView(save_name="conv1-kernels.png",
                              placeholder="conv1's kernels appear with the first image.")
        self.info = caption_label("Hover over a kernel for its statistics; click it to enlarge.")
        self.enlarged = PixelView(save_name="conv1-kernel.png", min_side=100,
                                  placeholder="Click a kernel")
        self.enlarged.setMaximumHeight(150)
        self.enlarged_caption = caption_label()
        self.kernels: KernelGrid | None = None
        self.selected: int | None = None
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Normalise:"))
        controls.addWidget(self.normalisation)
        controls.addStretch(1)
        controls.addWidget(self.summary)
        below = QHBoxLayout()
        below.addWidget(self.enlarged, 1)
        below.addWidget(self.enlarged_caption, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(scrolling(self.grid), 1)
        layout.addWidget(self.info)
        layout.addLayout(below)
        self.normalisation.currentIndexChanged.connect(self._on_normalisation_changed)
        self.grid.hovered.connect(self._on_grid_hovered)
        self.grid.clicked.connect(self._on_grid_clicked)

    def option_fields(self) -> dict[str, object]:
        return {"kernel_normalisation": self.normalisation.currentData()}

    def show_views(self, views: InsideViews) -> None:
        """Repaint only when the grid changed: it is drawn once per model and normalisation."""
        grid = views.kernels
        if grid is self.kernels:
            return
        self.kernels = grid
        if self.selected is not None and self.selected >= grid.geometry.count:
            self.selected = None
        self.grid.set_array(grid.image)
        side = grid.geometry.tile_width // grid.scale
        self.summary.setText(f"{grid.geometry.count} kernels of {side} × {side} × 3")
        self._show_selected()

    def _show_selected(self) -> None:
        grid, index = self.kernels, self.selected
        if grid is None or index is None:
            self.enlarged.set_array(None)
            self.grid.set_highlight(None)
            self.enlarged_caption.setText("")
            return
        x, y = grid.geometry.origin(index)
        width, height = grid.geometry.tile_width, grid.geometry.tile_height
        self.enlarged.set_array(grid.image[y : y + height, x : x + width])
        self.enlarged.save_name = f"conv1-kernel-{index}.png"
        self.grid.set_highlight((x, y, width, height))
        self.enlarged_caption.setText(f"Kernel {index}\n{_kernel_stats(grid, index)}")

    @pyqtSlot(int)
    def _on_normalisation_changed(self, _index: int) -> None:
        self.options_edited.emit()

    @pyqtSlot(object)
    def _on_grid_hovered(self, position: tuple[float, float] | None) -> None:
        kernels = self.kernels
        index = None if position is None or kernels is None else kernels.kernel_at(*position)
        if kernels is None or index is None:
            self.info.setText("Hover over a kernel for its statistics; click it to enlarge.")
        else:
            self.info.setText(f"Kernel {index}: {_kernel_stats(kernels, index)}")

    @pyqtSlot(float, float)
    def _on_grid_clicked(self, x: float, y: float) -> None:
        index = None if self.kernels is None else self.kernels.kernel_at(x, y)
        if index is not None:
            self.selected = index
            self._show_selected()


def _kernel_stats(grid: KernelGrid, index: int) -> str:
    s = grid.stats[index]
    return f"min {s.min:+.3f} · max {s.max:+.3f} · mean {s.mean:+.4f} · std {s.std:.4f}"


class RateMeter:
    """How often an explanation ran over the last seconds of frames, as the Explain tab says it.

    Still images reset it: the rate only means something while frames keep coming.
    """

    def __init__(self, *, window_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self._window = window_s
        self._clock = clock
        self._events: deque[tuple[float, bool]] = deque()

    def add(self, *, fresh: bool, frame: bool) -> None:
        if not frame:
            self._events.clear()
            return
        now = self._clock()
        self._events.append((now, fresh))
        while self._events and now - self._events[0][0] > self._window:
            self._events.popleft()

    def text(self, method: str = "Grad-CAM") -> str:
        """``"Grad-CAM every 3rd frame, 8/s"``; empty unless frames are streaming."""
        frames = len(self._events)
        if frames < 3:
            return ""
        cams = sum(fresh for _, fresh in self._events)
        if cams == 0:
            return f"{method} waits for the next frame"
        span = max(self._events[-1][0] - self._events[0][0], 1e-3)
        rate = (frames - 1) / span * cams / frames  # the frame rate, times the share with one
        shown = f"{rate:.0f}" if rate >= 2 else f"{rate:.1f}"
        every = round(frames / cams)
        if every <= 1:
            return f"{method} on every frame, {shown}/s"
        return f"{method} every {_ordinal(every)} frame, {shown}/s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class InputTab(QWidget):
    """The exact crop the network sees, denormalised, so preprocessing can be checked by eye."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = PixelView(save_name="model-input.png",
                              placeholder="The model's input appears with the first image.")
        self.caption = caption_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)

    def show_views(self, views: InsideViews) -> None:
        self.view.set_array(views.network.model_input)
        self.caption.setText(views.input_note)
