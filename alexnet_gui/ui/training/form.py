"""The settings of a training run, as a form: the GUI face of ``alexnet-gui train``'s options.

It hands back :class:`~alexnet_gui.core.training.state.TrainConfig` fields by name (that class
lives in a torch module, which the UI never imports). "Auto" values are ``None``, so the core's
recipe decides them exactly as it does for the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt5.QtCore import pyqtSlot
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from alexnet_gui.ui import dialogs

#: (label, TrainConfig.init); "file" means the weights file of the next row.
STARTS: tuple[tuple[str, str | None], ...] = (
    ("ImageNet weights if present, else from scratch", None),
    ("ImageNet weights", "imagenet"),
    ("From scratch (random weights)", "scratch"),
    ("A weights file or checkpoint", "file"),
)
FREEZE: tuple[tuple[str, bool | None], ...] = (
    ("Auto: only when starting from ImageNet", None),
    ("Yes: train fc6 to fc8 only", True),
    ("No: train every layer", False),
)


class TrainForm(QWidget):
    """Data folder, output file, architecture, start, freezing, epochs, batch, lr, input size."""

    def __init__(self, parent: QWidget | None = None, *, directory: str = "") -> None:
        super().__init__(parent)
        self.directory = directory
        self.data_dir, self.out, self.start_file = QLineEdit(), QLineEdit(), QLineEdit()
        self.data_dir.setPlaceholderText("one sub-folder of images per class, or train/ and val/")
        self.out.setPlaceholderText("where the best epoch is saved (.pt)")
        self.arch, self.start, self.freeze = QComboBox(), QComboBox(), QComboBox()
        self.arch.addItem("torchvision (224 px; the ImageNet weights fit it)", "torchvision")
        self.arch.addItem("paper (227 px, LRN, two groups)", "paper")
        for combo, choices in ((self.start, STARTS), (self.freeze, FREEZE)):
            for label, value in choices:
                combo.addItem(label, value)
        self.epochs, self.batch_size, self.input_size = QSpinBox(), QSpinBox(), QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(10)
        self.batch_size.setRange(1, 4096)
        self.batch_size.setValue(32)
        self.input_size.setRange(0, 1024)
        self.input_size.setSpecialValueText("Auto (the architecture's or the weights')")
        self.input_size.setSuffix(" px")
        self.lr = QDoubleSpinBox()
        self.lr.setRange(0.0, 10.0)
        self.lr.setDecimals(5)
        self.lr.setSingleStep(0.0005)
        self.lr.setSpecialValueText("Auto (0.001 fine-tuning, 0.01 from scratch)")
        self.resume = QCheckBox("Continue the interrupted run saved beside the output (.last)")
        self.data_button, self.out_button = QPushButton("Browse…"), QPushButton("Browse…")
        self.start_button = QPushButton("Browse…")
        self.start_row = _row(self.start_file, self.start_button)
        form = QFormLayout(self)
        form.addRow("Images:", _row(self.data_dir, self.data_button))
        form.addRow("Save as:", _row(self.out, self.out_button))
        form.addRow("Architecture:", self.arch)
        form.addRow("Start from:", self.start)
        form.addRow("Weights file:", self.start_row)
        form.addRow("Freeze conv layers:", self.freeze)
        form.addRow("Epochs:", self.epochs)
        form.addRow("Batch size:", self.batch_size)
        form.addRow("Learning rate:", self.lr)
        form.addRow("Input size:", self.input_size)
        form.addRow("", self.resume)
        self.data_button.clicked.connect(self._on_data_button_clicked)
        self.out_button.clicked.connect(self._on_out_button_clicked)
        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.start.currentIndexChanged.connect(self._on_start_current_index_changed)
        self.out.textChanged.connect(self._on_out_text_changed)
        self._on_start_current_index_changed(self.start.currentIndex())
        self._on_out_text_changed(self.out.text())

    def options(self) -> dict[str, Any]:
        """TrainConfig fields by name.

        Raises:
            ValueError: a required field is empty; the message says which.
        """
        data, out = self.data_dir.text().strip(), self.out.text().strip()
        if not data:
            raise ValueError("Choose the folder of training images first.")
        if not out:
            raise ValueError("Choose where to save the trained model.")
        problem = out_problem(out)
        if problem:
            raise ValueError(problem)
        init = self.start.currentData()
        if init == "file":
            init = self.start_file.text().strip()
            if not init:
                raise ValueError("Choose the weights file to start from.")
        return {
            "data_dir": Path(data).expanduser(),
            "out": Path(out).expanduser(),
            "arch": self.arch.currentData(),
            "init": init,
            "freeze_features": self.freeze.currentData(),
            "epochs": self.epochs.value(),
            "batch_size": self.batch_size.value(),
            "lr": self.lr.value() or None,
            "input_size": self.input_size.value() or None,
            "resume": self.resume.isEnabled() and self.resume.isChecked(),
        }

    def refresh(self) -> None:
        """Re-check what depends on files (a cancelled run has just written ``.last``)."""
        self._on_out_text_changed(self.out.text())

    def _start_dir(self, edit: QLineEdit) -> str:
        text = edit.text().strip()
        return str(Path(text).parent) if text else self.directory

    @pyqtSlot()
    def _on_data_button_clicked(self) -> None:
        text = self.data_dir.text().strip()
        folder = dialogs.choose_folder(
            self, "Choose the training images (one folder per class)", text or self.directory
        )
        if folder is None:
            return
        self.data_dir.setText(str(folder))
        if not self.out.text().strip():
            self.out.setText(str(folder.parent / f"{folder.name}-alexnet.pt"))

    @pyqtSlot()
    def _on_out_button_clicked(self) -> None:
        suggested = self.out.text().strip() or str(Path(self.directory) / "alexnet-trained.pt")
        path = dialogs.save_checkpoint(self, Path(suggested))
        if path is not None:
            self.out.setText(str(path))

    @pyqtSlot()
    def _on_start_button_clicked(self) -> None:
        path = dialogs.open_weights(self, self._start_dir(self.start_file))
        if path is not None:
            self.start_file.setText(str(path))

    @pyqtSlot(int)
    def _on_start_current_index_changed(self, _index: int) -> None:
        self.start_row.setEnabled(self.start.currentData() == "file")

    @pyqtSlot(str)
    def _on_out_text_changed(self, text: str) -> None:
        text = text.strip()
        saved = bool(text) and not out_problem(text) and _last_file(Path(text)).is_file()
        self.resume.setEnabled(saved)
        self.resume.setToolTip("" if saved else "No interrupted run is saved beside this file.")


def out_problem(text: str) -> str | None:
    """Why ``text`` cannot be where the trained model is saved, in plain words; None if it can."""
    path = Path(text).expanduser()
    if not path.name or text.endswith(("/", "\\")) or path.is_dir():
        return (f"Save as: {text} is a folder; add a file name, such as "
                f"{path / 'alexnet-trained.pt'}.")
    if not path.parent.is_dir():
        return f"Save as: the folder {path.parent} does not exist."
    return None


def _last_file(out: Path) -> Path:
    """Where an interrupted run is kept: ``OUT.last``."""
    return out.with_name(out.name + ".last")


def _row(edit: QLineEdit, button: QPushButton) -> QWidget:
    """A line edit with its Browse button."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(button)
    return row
