"""Tools > Find Similar Images: the images of a folder that AlexNet finds closest to the picture.

The search runs as a background job (``workers/similarity_job.py``): it loads its own copy of the
main model, indexes the folder by fc7 features (refreshing the cached index: only new or changed
files cost a forward pass) and returns the nearest images with thumbnails it decoded itself. This
dock lists them, best first, with their cosine distance; clicking one opens it in the window.

Distance (1 - cosine similarity), not similarity: relu7 vectors are never negative, so every
pair's cosine is positive and crowds towards 1 (a barely trained model gives 0.999 for anything),
where three decimals show 1.000 for near and far alike. The distance, shown to two significant
digits, keeps the difference: 0.00021 is ten times nearer than 0.0021, whatever the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, QSize, Qt, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QIcon, QKeySequence
from PyQt5.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.ui import dialogs
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.session import Session
from alexnet_gui.ui.widgets.predictions import ElidedLabel
from alexnet_gui.ui.widgets.qimage import array_to_pixmap

if TYPE_CHECKING:
    from alexnet_gui.workers.jobs import Job
    from alexnet_gui.workers.similarity_job import SimilarityJob, SimilarResults

#: ``(folder, query, *, weights, device, k, query_name) -> job``: SimilarityJob in the app.
SimilarJobFactory = Callable[..., "SimilarityJob"]
DOCK_NAME = "similarDock"
ICON_SIZE = 112
ERROR_STYLE = "color: #c0392b;"


class SimilarPanel(QWidget):
    """The folder, Search/Cancel, a progress bar and the found images as a grid of thumbnails.

    Signals:
        folder_clicked(): the user wants to search another folder.
        search_clicked(): search again, for the picture now on screen.
        cancel_clicked(): stop the running search.
        image_clicked(object): the Path of a found image the user clicked.
    """

    folder_clicked = pyqtSignal()
    search_clicked = pyqtSignal()
    cancel_clicked = pyqtSignal()
    image_clicked = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("similarPanel")
        self.folder = ElidedLabel()
        self.folder.set_full_text("No folder chosen")
        self.folder_button = QPushButton("Folder…")
        self.search_button = QPushButton("Search again")
        self.search_button.setToolTip("Find the images most like the picture now on screen")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("Tools > Find Similar Images searches a folder for pictures like "
                             "the one on screen.")
        self.status.setWordWrap(True)
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.IconMode)
        self.grid.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.grid.setResizeMode(QListView.Adjust)
        self.grid.setMovement(QListView.Static)
        self.grid.setWordWrap(True)
        self.grid.setSpacing(6)
        top = QHBoxLayout()
        top.addWidget(QLabel("In:"))
        top.addWidget(self.folder, 1)
        buttons = QHBoxLayout()  # a row of their own: the dock stays narrow at 1280 px
        buttons.addStretch(1)
        for button in (self.folder_button, self.search_button, self.cancel_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.grid, 1)
        self.folder_button.clicked.connect(self.folder_clicked)
        self.search_button.clicked.connect(self.search_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.grid.itemClicked.connect(self._on_grid_item_clicked)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self.folder_button.setEnabled(not running)
        self.search_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status.setText(f"Indexing: {done} of {total} new or changed images…")

    def say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")

    def show_results(self, results: SimilarResults) -> None:
        self.grid.clear()
        for hit in results.hits:
            item = QListWidgetItem(f"{distance_text(hit.score)}\n{hit.path.name}")
            if hit.thumbnail is not None:
                item.setIcon(QIcon(array_to_pixmap(np.ascontiguousarray(hit.thumbnail))))
            item.setData(Qt.ItemDataRole.UserRole, str(hit.path))
            item.setToolTip(f"{hit.path}\ndistance {1.0 - hit.score:.3g} (0: the same "
                            f"picture; smaller is nearer)\ncosine similarity {hit.score:.6f}")
            self.grid.addItem(item)
        fresh = f", {results.computed} indexed now" if results.computed else ""
        gone = f", {results.removed} removed" if results.removed else ""
        bad = f", {results.failed} unreadable" if results.failed else ""
        self.say(f"The {len(results.hits)} images most like {results.query_name} among "
                 f"{results.indexed} ({results.model_name}, fc7{fresh}{gone}{bad}), nearest "
                 "first; the number is their distance (0: the same picture). Click one to open it.")

    @pyqtSlot(QListWidgetItem)
    def _on_grid_item_clicked(self, item: QListWidgetItem) -> None:
        self.image_clicked.emit(Path(item.data(Qt.ItemDataRole.UserRole)))


class SimilarController(QObject):
    """The Tools menu, the dock and one search job at a time.

    Signals:
        results_shown(SimilarResults): a search's results are in the panel.
    """

    results_shown = pyqtSignal(object)

    def __init__(self, session: Session, *, panel: SimilarPanel, dock: QDockWidget, menu: QMenu,
                 make_job: SimilarJobFactory, dialog_parent: QWidget) -> None:
        super().__init__(session)
        self._session, self._make_job, self._parent = session, make_job, dialog_parent
        self.folder: Path | None = None
        self.job: Job | None = None
        self.panel, self.dock, self.menu = panel, dock, menu
        self.find_action = present(self.menu.addAction("Find &Similar Images…"))
        self.find_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.find_action.setStatusTip("Search a folder for the images AlexNet finds most alike")
        dialog_parent.addAction(self.find_action)  # the shortcut works in full screen too
        self.find_action.triggered.connect(self._on_find_action_triggered)
        self.panel.folder_clicked.connect(self._on_panel_folder_clicked)
        self.panel.search_clicked.connect(self._on_panel_search_clicked)
        self.panel.cancel_clicked.connect(self._on_panel_cancel_clicked)
        self.panel.image_clicked.connect(self._on_panel_image_clicked)

    def find_similar(self) -> None:
        """Search the chosen folder (asking for one the first time) for the current picture."""
        self.dock.show()
        self.dock.raise_()
        if self.folder is None and not self.choose_folder():
            return
        self.search()

    def choose_folder(self) -> bool:
        result = self._session.result
        here = (str(result.path.parent) if result is not None and result.path is not None
                else self._session.start_dir())
        folder = dialogs.choose_folder(self._parent, "Search which folder for similar images?",
                                       str(self.folder or here))
        if folder is None:
            return False
        self.folder = folder
        self.panel.folder.set_full_text(str(folder))
        return True

    def search(self) -> None:
        """Start a search for the picture on screen; ignored while one runs."""
        result = self._session.result
        if self.job is not None or self.folder is None:
            return
        if result is None:
            self.panel.say("Open an image first: its look-alikes are searched for.", error=True)
            return
        weights = self._session.settings.last_model
        query: Path | np.ndarray = result.path if result.path is not None else result.image
        job = self._make_job(self.folder, query, weights=Path(weights) if weights else None,
                             device=self._session.settings.device, query_name=result.name)
        job.stage_changed.connect(self._on_job_stage_changed)
        job.progressed.connect(self._on_job_progressed)
        job.completed.connect(self._on_job_completed)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)
        self.job = job
        self.panel.set_running(True)
        self.panel.say(f"Searching {self.folder.name} for images like {result.name}…")
        self._session.jobs.start(job)

    @pyqtSlot()
    def _on_find_action_triggered(self) -> None:
        self.find_similar()

    @pyqtSlot()
    def _on_panel_folder_clicked(self) -> None:
        if self.choose_folder():
            self.search()

    @pyqtSlot()
    def _on_panel_search_clicked(self) -> None:
        self.search()

    @pyqtSlot()
    def _on_panel_cancel_clicked(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.panel.say("Cancelling…")

    @pyqtSlot(object)
    def _on_panel_image_clicked(self, path: Path) -> None:
        self._session.request_open([path])

    @pyqtSlot(str)
    def _on_job_stage_changed(self, text: str) -> None:
        self.panel.say(text)

    @pyqtSlot("qint64", "qint64")
    def _on_job_progressed(self, done: int, total: int) -> None:
        self.panel.show_progress(done, total)

    @pyqtSlot(object)
    def _on_job_completed(self, results: SimilarResults) -> None:
        self.panel.show_results(results)
        self.results_shown.emit(results)

    @pyqtSlot(str)
    def _on_job_failed(self, message: str) -> None:
        self.panel.say(message, error=True)

    @pyqtSlot()
    def _on_job_ended(self) -> None:
        self.job = None
        self.panel.set_running(False)


def distance_text(similarity: float) -> str:
    """``1 - similarity`` to two significant digits: ``0.00021``, ``0.25``; ``0`` for the same."""
    distance = max(0.0, 1.0 - similarity)
    return "0" if distance < 5e-7 else f"{distance:.2g}" if distance >= 1e-4 else f"{distance:.1e}"
