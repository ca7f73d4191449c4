"""The main window: the picture, the predictions, the folder table, docks and menus. No features.

It lays out widgets and keeps its own geometry; every feature lives in a controller that
``alexnet_gui.app`` builds with the session and the widgets it uses. Panels plug in through
:meth:`add_dock` and :meth:`add_menu`; a drop reaches the browser through :attr:`content_dropped`.
"""

from __future__ import annotations

from PyQt5.QtCore import QByteArray, QRect, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PyQt5.QtWidgets import (
    QApplication,
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
SIDE_WIDTH = 260  # the predictions beside the picture
FRAME_ROOM = 48  # a title bar and borders, until the window manager says how much they take
MIN_SIDE_DOCK = 200  # a right-hand panel is not squeezed narrower than this
MIN_PREDICTIONS = 160  # nor the predictions beside the picture
GAPS = 24  # margins and splitter handles between the picture, the predictions and a panel


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
        self._side_docks: list[QDockWidget] = []  # the right-hand panels, tabbed together
        self.view, self.messages, self.predictions = ImageView(), MessageBar(), PredictionsPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.view)
        side = QScrollArea()  # ten bars and the model box must not set the window's height
        side.setWidget(self.predictions)
        side.setWidgetResizable(True)
        side.setFrameShape(QScrollArea.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setMinimumWidth(MIN_PREDICTIONS)  # Top-5 labels stay readable
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

        A right-hand panel scrolls inside its dock, so opening it never makes the window taller
        than the screen, and right-hand panels share one place as tabs instead of stacking up.
        ``hidden``: start hidden unless the saved layout shows it.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        side = area == Qt.DockWidgetArea.RightDockWidgetArea
        dock.setWidget(_scrolling(widget) if side else widget)  # the folder table scrolls itself
        # A dock added after restoreState() gets its saved place; addDockWidget() first would
        # drop that place, so it is only the fallback for a dock the layout does not know.
        if not self.restoreDockWidget(dock):
            self.addDockWidget(area, dock)
            if side and self._side_docks:
                self.tabifyDockWidget(self._side_docks[0], dock)
            dock.setHidden(hidden)
        if side:
            self._side_docks.append(dock)
            dock.visibilityChanged.connect(self._on_side_dock_visibility_changed)
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
            # 1200x800, or 80 % of a larger screen; always with room for a title bar
            area = self.available_area()
            self.resize(min(max(DEFAULT_SIZE[0], area.width() * 4 // 5), area.width() - FRAME_ROOM),
                        min(max(DEFAULT_SIZE[1], area.height() * 4 // 5),
                            area.height() - FRAME_ROOM))
        if not (s.window_state and self.restoreState(QByteArray(s.window_state))):
            # the picture comes first
            self.resizeDocks([self.folder_dock], [190], Qt.Orientation.Vertical)
        if not (s.splitter_state and self.splitter.restoreState(QByteArray(s.splitter_state))):
            self.splitter.setSizes([self.width() - SIDE_WIDTH, SIDE_WIDTH])
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        """Shrink (and move) the window into the screen's free area if it is larger."""
        if self.isFullScreen() or self.isMaximized():
            return
        area = self.available_area()
        frame, inner = self.frameGeometry(), self.geometry()
        extra_w, extra_h = frame.width() - inner.width(), frame.height() - inner.height()
        width = min(self.width(), area.width() - extra_w)
        height = min(self.height(), area.height() - extra_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        frame = self.frameGeometry()
        if not area.contains(frame):
            self.move(max(area.left(), min(frame.left(), area.right() - frame.width() + 1)),
                      max(area.top(), min(frame.top(), area.bottom() - frame.height() + 1)))

    def available_area(self) -> QRect:
        """The free part of the screen the window is on (no task bar, no panels)."""
        screen = self.screen() if self.isVisible() else QApplication.primaryScreen()
        return screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)

    def layout_state(self) -> dict[str, bytes]:
        """The settings fields :meth:`restore_layout` reads."""
        return {
            "window_geometry": bytes(self.saveGeometry()),
            "window_state": bytes(self.saveState()),
            "splitter_state": bytes(self.splitter.saveState()),
        }

    @pyqtSlot(bool)
    def _on_side_dock_visibility_changed(self, visible: bool) -> None:
        if visible:  # after Qt has laid the panel out: keep the picture wide, the window inside
            QTimer.singleShot(0, self._keep_picture_wide)

    def _keep_picture_wide(self) -> None:
        """A right-hand panel takes what the picture can spare beyond half the window; on a
        small screen the predictions beside the picture give up some width first."""
        shown = [d for d in self._side_docks if d.isVisible() and not d.isFloating()]
        if shown and self.view.width() < self.width() // 2:
            half, side = self.width() // 2, self.splitter.sizes()[1]
            dock = self.width() - half - side - GAPS
            if dock < MIN_SIDE_DOCK:
                side = max(MIN_PREDICTIONS, side - (MIN_SIDE_DOCK - dock))
                dock = max(MIN_SIDE_DOCK, self.width() - half - side - GAPS)
            self.resizeDocks(shown[:1], [dock], Qt.Orientation.Horizontal)
            QTimer.singleShot(0, lambda: self._set_predictions_width(side))
        self.fit_to_screen()

    def _set_predictions_width(self, side: int) -> None:
        total = sum(self.splitter.sizes())
        self.splitter.setSizes([total - side, side])

    def showEvent(self, event: QShowEvent | None) -> None:
        super().showEvent(event)
        for ms in (0, 400):  # once the window manager has framed the window, and once more
            QTimer.singleShot(ms, self.fit_to_screen)

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


def _scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area: its minimum size no longer sets the window's."""
    area = QScrollArea()
    area.setObjectName(f"{widget.objectName() or 'panel'}Scroll")
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    return area
