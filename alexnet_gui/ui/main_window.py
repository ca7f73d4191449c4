"""The main window: the picture, the predictions, the folder table, docks and menus. No features.

It lays out widgets and keeps its own geometry; every feature lives in a controller that
``alexnet_gui.app`` builds with the session and the widgets it uses. Panels plug in through
:meth:`add_dock` and :meth:`add_menu`; a drop reaches the browser through :attr:`content_dropped`.
"""

from __future__ import annotations

from PyQt5.QtCore import QByteArray, Qt, pyqtSignal
from PyQt5.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PyQt5.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMenu,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui import APP_NAME
from alexnet_gui.settings import Settings
from alexnet_gui.ui.actions import Actions
from alexnet_gui.ui.browse.batch_panel import BatchPanel
from alexnet_gui.ui.browse.sources import clipboard_content, offers_content
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.message_bar import MessageBar
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields

DEFAULT_SIZE = (1200, 800)


class MainWindow(QMainWindow):
    """Menus, tool bar, status bar, the picture, the predictions and the folder panel.

    Signals:
        content_dropped(object): files and folders (a list of Path) or an image source dropped
            on the window.
        closing(): the window is closing (once); its layout is in :meth:`layout_state`.
    """

    content_dropped = pyqtSignal(object)
    closing = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self._closed = False
        self.view, self.messages, self.predictions = ImageView(), MessageBar(), PredictionsPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.view)
        side = QScrollArea()  # ten bars and the model box must not set the window's height
        side.setWidget(self.predictions)
        side.setWidgetResizable(True)
        side.setFrameShape(QScrollArea.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.messages)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.actions_ = Actions(self)
        self.batch = BatchPanel()
        self.folder_dock = self.add_dock(self.batch, "Folder", object_name="folderDock",
                                         area=Qt.DockWidgetArea.BottomDockWidgetArea)
        self.status = StatusFields(present(self.statusBar()))
        # close() is a Qt slot returning bool; the stub wants slots that return None
        self.actions_.quit.triggered.connect(self.close)  # type: ignore[arg-type]
        self.actions_.full_screen.triggered.connect(self.toggle_full_screen)
        self.actions_.dismiss_messages.triggered.connect(self.messages.dismiss)

    # -- extension points ---------------------------------------------------------------------

    def add_dock(self, widget: QWidget, title: str, *, object_name: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
                 hidden: bool = False) -> QDockWidget:
        """Add a panel; its toggle goes to the View menu and its place is saved in settings.

        ``hidden``: start hidden unless the saved layout shows it.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        # A dock added after restoreState() gets its saved place; addDockWidget() first would
        # drop that place, so it is only the fallback for a dock the layout does not know.
        if not self.restoreDockWidget(dock):
            self.addDockWidget(area, dock)
            dock.setHidden(hidden)
        self.actions_.menus["view"].addAction(dock.toggleViewAction())
        return dock

    def add_menu(self, title: str) -> QMenu:
        """A new top-level menu before Help (Camera, Tools...)."""
        menu = QMenu(title, self)
        present(self.menuBar()).insertMenu(self.actions_.menus["help"].menuAction(), menu)
        return menu

    def show_title(self, name: str) -> None:
        """``name - AlexNet GUI``, or the app's name alone."""
        self.setWindowTitle(f"{name} - {APP_NAME}" if name else APP_NAME)

    def show_status(self, text: str, ms: int) -> None:
        present(self.statusBar()).showMessage(text, ms)

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.actions_.full_screen.setChecked(self.isFullScreen())

    # -- layout -------------------------------------------------------------------------------

    def restore_layout(self, settings: Settings) -> None:
        """Geometry, docks and the splitter as saved; the defaults the first time."""
        s = settings
        if not (s.window_geometry and self.restoreGeometry(QByteArray(s.window_geometry))):
            self.resize(*DEFAULT_SIZE)
        if not (s.window_state and self.restoreState(QByteArray(s.window_state))):
            # the picture comes first
            self.resizeDocks([self.folder_dock], [190], Qt.Orientation.Vertical)
        if not (s.splitter_state and self.splitter.restoreState(QByteArray(s.splitter_state))):
            self.splitter.setSizes([880, 300])

    def layout_state(self) -> dict[str, bytes]:
        """The settings fields :meth:`restore_layout` reads."""
        return {
            "window_geometry": bytes(self.saveGeometry()),
            "window_state": bytes(self.saveState()),
            "splitter_state": bytes(self.splitter.saveState()),
        }

    # -- drag and drop, close -----------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:
        assert event is not None
        if offers_content(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent | None) -> None:
        assert event is not None
        content = clipboard_content(event.mimeData())
        if content is not None:
            self.content_dropped.emit(content)
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent | None) -> None:
        if not self._closed:  # closed once more by the app's aboutToQuit
            self._closed = True
            self.closing.emit()
        super().closeEvent(event)
