"""The Teach panel's widgets: the project, a section per class with its examples, Train, Save.

Only widgets and their signals live here; :mod:`.controller` decides what they do. The panel is
narrow enough for the right-hand dock of a 1280x800 screen: each class is a section of its own,
one under the other, with its buttons on a row and its examples as a grid of thumbnails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5.QtCore import QSize, Qt, pyqtSignal
from PyQt5.QtGui import QIcon, QKeySequence
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QShortcut,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.messages import TeachExample
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.widgets.predictions import ElidedLabel
from alexnet_gui.ui.widgets.qimage import array_to_pixmap

ICON = 48
ERROR_STYLE = "color: #c0392b;"
WHY_IMAGENET = ("Teach builds on what AlexNet learnt from ImageNet's 1.2 million photos: those "
                "features are what make a few examples a class enough. Download the ImageNet "
                "weights (233 MB) first.")


class ClassSection(QFrame):
    """One class: its name and count, Hold to record, Add files, a menu, and its thumbnails.

    Signals:
        record_pressed(str) / record_released(str): the record button went down / up.
        add_files_clicked(str), rename_clicked(str), remove_clicked(str): for this class.
        delete_requested(object): a list of example Paths the user wants deleted.
    """

    record_pressed = pyqtSignal(str)
    record_released = pyqtSignal(str)
    add_files_clicked = pyqtSignal(str)
    rename_clicked = pyqtSignal(str)
    remove_clicked = pyqtSignal(str)
    delete_requested = pyqtSignal(object)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setFrameShape(QFrame.StyledPanel)
        self.title = QLabel()
        self.title.setWordWrap(True)  # a long class name wraps instead of widening the dock
        self.record = QPushButton("Hold to record")
        self.record.setToolTip("Records frames of the camera or video while held down")
        self.add_files = QPushButton("Add files…")
        self.more = QToolButton()
        self.more.setText("⋯")
        self.more.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.more)
        self.rename_action = present(menu.addAction("Rename…"))
        self.remove_action = present(menu.addAction("Remove class…"))
        self.delete_action = present(menu.addAction("Delete selected examples"))
        self.more.setMenu(menu)
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.IconMode)
        self.grid.setIconSize(QSize(ICON, ICON))
        self.grid.setResizeMode(QListView.Adjust)
        self.grid.setMovement(QListView.Static)
        self.grid.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.grid.setFixedHeight(2 * ICON + 24)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.grid.addAction(self.delete_action)
        shortcut = QShortcut(QKeySequence.Delete, self.grid)
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut.activated.connect(self.delete_selected)
        top = QHBoxLayout()  # the menu beside the name: the dock stays narrow at 1280 px
        top.addWidget(self.title, 1)
        top.addWidget(self.more)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record, 1)
        buttons.addWidget(self.add_files)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.grid)
        self.record.pressed.connect(lambda: self.record_pressed.emit(self.name))
        self.record.released.connect(lambda: self.record_released.emit(self.name))
        self.add_files.clicked.connect(lambda _c=False: self.add_files_clicked.emit(self.name))
        self.rename_action.triggered.connect(lambda _c=False: self.rename_clicked.emit(self.name))
        self.remove_action.triggered.connect(lambda _c=False: self.remove_clicked.emit(self.name))
        self.delete_action.triggered.connect(lambda _c=False: self.delete_selected())
        self._update_title()

    def add_example(self, example: TeachExample) -> None:
        item = QListWidgetItem()
        if example.thumbnail is not None:
            item.setIcon(QIcon(array_to_pixmap(np.ascontiguousarray(example.thumbnail))))
        item.setData(Qt.ItemDataRole.UserRole, str(example.path))
        item.setToolTip(example.path.name)
        self.grid.addItem(item)
        self.grid.scrollToBottom()
        self._update_title()

    def examples(self) -> list[Path]:
        return [Path(present(self.grid.item(i)).data(Qt.ItemDataRole.UserRole))
                for i in range(self.grid.count())]

    def remove_examples(self, paths: list[Path]) -> None:
        gone = {str(p) for p in paths}
        for row in reversed(range(self.grid.count())):
            if present(self.grid.item(row)).data(Qt.ItemDataRole.UserRole) in gone:
                self.grid.takeItem(row)
        self._update_title()

    def delete_selected(self) -> None:
        chosen = [Path(i.data(Qt.ItemDataRole.UserRole)) for i in self.grid.selectedItems()]
        if chosen:
            self.delete_requested.emit(chosen)

    def set_recording(self, recording: bool) -> None:
        self.record.setText("Recording…" if recording else "Hold to record")

    def _update_title(self) -> None:
        count = self.grid.count()
        self.title.setText(f"<b>{self.name}</b> — {count} example{'s' if count != 1 else ''}")


class TeachPanel(QWidget):
    """The whole panel. Sections are made and dropped by the controller.

    Signals:
        new_clicked(), open_clicked(), add_class_clicked(), train_clicked(), cancel_clicked(),
        save_clicked(), download_clicked(): the buttons of the same names.
    """

    new_clicked = pyqtSignal()
    open_clicked = pyqtSignal()
    add_class_clicked = pyqtSignal()
    train_clicked = pyqtSignal()
    cancel_clicked = pyqtSignal()
    save_clicked = pyqtSignal()
    download_clicked = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teachPanel")
        self.project = ElidedLabel()
        self.project.set_full_text("No project yet")
        self.new_button = QPushButton("New…")
        self.new_button.setToolTip("New project: a folder with a sub-folder per class")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a project folder: its classes and examples come back")
        self.weights_note = QLabel(WHY_IMAGENET)
        self.weights_note.setWordWrap(True)
        self.download_button = QPushButton("Download weights…")
        self.add_class_button = QPushButton("Add class")
        self.rate = QSpinBox()
        self.rate.setRange(1, 30)
        self.rate.setValue(5)
        self.rate.setSuffix(" /s")
        self.rate.setToolTip("How many frames a second Hold to record keeps")
        self.sections_box = QVBoxLayout()
        self.sections: dict[str, ClassSection] = {}
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.save_button = QPushButton("Save model…")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("Add two classes or more, record or add examples, then Train.")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Project:"))
        top.addStretch(1)
        top.addWidget(self.new_button)
        top.addWidget(self.open_button)
        rate = QHBoxLayout()
        rate.addWidget(self.add_class_button)
        rate.addStretch(1)
        rate.addWidget(QLabel("Record at"))
        rate.addWidget(self.rate)
        train = QHBoxLayout()
        for button in (self.train_button, self.cancel_button, self.save_button):
            train.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.project)
        layout.addWidget(self.weights_note)
        layout.addWidget(self.download_button)
        layout.addLayout(rate)
        layout.addLayout(train)  # above the classes: in reach however many there are
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(self.sections_box)
        layout.addStretch(1)
        self.new_button.clicked.connect(self.new_clicked)
        self.open_button.clicked.connect(self.open_clicked)
        self.add_class_button.clicked.connect(self.add_class_clicked)
        self.train_button.clicked.connect(self.train_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.save_button.clicked.connect(self.save_clicked)
        self.download_button.clicked.connect(self.download_clicked)
        self.show_weights_missing(False)
        self.set_project(None)

    def set_project(self, root: Path | None) -> None:
        for name in list(self.sections):
            self.drop_section(name)
        self.project.set_full_text(str(root) if root else
                                   "No project yet")
        self.add_class_button.setEnabled(root is not None)
        self.set_training(False, has_project=root is not None)
        self.save_button.setEnabled(root is not None and (root / "model.pt").is_file())

    def add_section(self, name: str) -> ClassSection:
        section = ClassSection(name)
        self.sections[name] = section
        names = sorted(self.sections)
        self.sections_box.insertWidget(names.index(name), section)
        return section

    def drop_section(self, name: str) -> None:
        section = self.sections.pop(name, None)
        if section is not None:
            self.sections_box.removeWidget(section)
            section.deleteLater()

    def set_training(self, training: bool, *, has_project: bool = True) -> None:
        """While training, Cancel takes Train's place (one row fits the narrow dock)."""
        self.progress.setVisible(training)
        self.progress.setRange(0, 0)
        self.train_button.setVisible(not training)
        self.train_button.setEnabled(has_project)
        self.cancel_button.setVisible(training)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def show_weights_missing(self, missing: bool) -> None:
        self.weights_note.setVisible(missing)
        self.download_button.setVisible(missing)

    def say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")
