"""The Camera menu, the live tool bar buttons and File > Open Video, built in one place.

Kept apart from ``ui/actions.py`` so that the live feature plugs into the window through its
extension points (``add_menu``, the File menu, the tool bar) and the shared action list stays
as it was. Only construction and the camera list live here; :mod:`.controller` connects
the actions to the stream.
"""

from __future__ import annotations

from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QActionGroup, QMainWindow, QMenu, QStyle, QToolBar

from alexnet_gui.ui.qt_types import present

SEARCHING = "Searching for cameras…"
NO_CAMERA = "No camera found"


class LiveActions:
    """Every QAction of the live feature, the Camera menu and its list of cameras.

    Args:
        window: Owns the actions (their shortcuts work in full screen too).
        camera_menu: The (empty) Camera menu to fill.
        file_menu: Open Video and Loop Video go in here, before ``file_anchor``.
        file_anchor: The File menu action they precede.
        toolbar: Start, Stop, Freeze and Snapshot are appended to it.
    """

    def __init__(self, window: QMainWindow, *, camera_menu: QMenu, file_menu: QMenu,
                 file_anchor: QAction, toolbar: QToolBar) -> None:
        self._window = window
        self.open_video = self._action("Open &Video…", "Ctrl+Alt+O",
                                       icon=QStyle.StandardPixmap.SP_MediaPlay,
                                       tip="Play a video file through AlexNet at its own rate")
        self.loop = self._action("&Loop Video", checkable=True,
                                 tip="Start a video again from its first frame when it ends")
        self.start_camera = self._action("&Start Camera", "Ctrl+K",
                                         icon=QStyle.StandardPixmap.SP_MediaPlay,
                                         tip="Classify the chosen camera's picture, live")
        self.stop = self._action("S&top", "Ctrl+Shift+K", icon=QStyle.StandardPixmap.SP_MediaStop,
                                 tip="Stop the camera or the video")
        self.freeze = self._action("&Freeze", "Space", icon=QStyle.StandardPixmap.SP_MediaPause,
                                   checkable=True, tip="Hold the current frame (Space)")
        self.snapshot = self._action("Snaps&hot", "Ctrl+Shift+P",
                                     icon=QStyle.StandardPixmap.SP_DialogSaveButton,
                                     tip="Save the current frame as PNG and its result as JSON")
        self.mirror = self._action("&Mirror", "Ctrl+Shift+M", checkable=True,
                                   tip="Flip the camera's picture left to right, like a mirror")
        self.snapshot_folder = self._action("Snapshot F&older…",
                                            tip="Choose where snapshots are saved")
        self.camera_group = QActionGroup(window)
        self.cameras: dict[int, QAction] = {}
        self.menu = camera_menu
        self._placeholder = QAction(SEARCHING, window)
        self._placeholder.setEnabled(False)
        for action, text in ((self.start_camera, "Camera"), (self.stop, "Stop"),
                             (self.freeze, "Freeze"), (self.snapshot, "Snapshot")):
            action.setIconText(text)
        camera_menu.addActions([self.start_camera, self.stop])
        camera_menu.addSeparator()
        camera_menu.addActions([self.freeze, self.snapshot, self.mirror])
        self._cameras_start = camera_menu.addSection("Cameras")
        camera_menu.addAction(self._placeholder)
        self._cameras_end = camera_menu.addSeparator()
        camera_menu.addAction(self.snapshot_folder)
        file_menu.insertActions(file_anchor, [self.open_video, self.loop])
        toolbar.addSeparator()
        toolbar.addActions([self.start_camera, self.stop, self.freeze, self.snapshot])

    def show_searching(self) -> None:
        """The camera list while the first probe runs (later probes keep the old list)."""
        if not self.cameras:
            self._placeholder.setText(SEARCHING)
            self._placeholder.setVisible(True)

    def set_cameras(self, indices: list[int], *, chosen: int) -> None:
        """List the cameras that opened, ``chosen`` checked; none: 'No camera found', disabled."""
        for action in self.cameras.values():
            self.camera_group.removeAction(action)
            self.menu.removeAction(action)
            action.deleteLater()
        self.cameras = {}
        self._placeholder.setText(NO_CAMERA)
        self._placeholder.setVisible(not indices)
        for index in indices:
            action = QAction(f"Camera {index}", self._window)
            action.setCheckable(True)
            action.setData(index)
            action.setChecked(index == chosen)
            self.camera_group.addAction(action)
            self.menu.insertAction(self._cameras_end, action)
            self.cameras[index] = action

    def set_streaming(self, *, running: bool, frozen: bool = False) -> None:
        """Enable what applies while a stream runs (Stop, Freeze) and what applies when not."""
        self.stop.setEnabled(running)
        self.freeze.setEnabled(running)
        self.freeze.setChecked(running and frozen)

    def _action(self, text: str, shortcut: str | None = None, *,
                icon: QStyle.StandardPixmap | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(present(self._window.style()).standardIcon(icon))
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        self._window.addAction(action)  # shortcuts keep working in full screen, menu bar hidden
        return action
