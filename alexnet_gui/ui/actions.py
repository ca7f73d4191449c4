"""The menus, shortcuts and tool bar of the main window, built in one place.

Only construction lives here; the main window connects each action to a slot. Keeping the list
of actions apart keeps the window a wiring class, and lets tests trigger any menu item by name.
"""

from __future__ import annotations

import functools

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QActionGroup, QMainWindow, QMenu, QMenuBar, QStyle, QToolBar

from alexnet_gui.core.engines.names import ENGINES, timings_text
from alexnet_gui.core.inference.devices import DEVICES
from alexnet_gui.settings import TOPK_RANGE
from alexnet_gui.ui.qt_types import present

DEVICE_LABELS = {"auto": "&Auto (CUDA if available)", "cpu": "&CPU", "cuda": "C&UDA"}
ENGINE_LABELS = {"auto": "&Auto (fastest that keeps quality)", "pytorch": "&PyTorch (reference)",
                 "openvino-int8": "OpenVINO &int8", "openvino-bf16": "OpenVINO &bf16",
                 "openvino-fp32": "OpenVINO &fp32"}
NOT_MEASURED = "Speed here: not measured yet"


def engine_timings_label(timings: tuple[tuple[str, float], ...]) -> str:
    """The Engine menu's last line, e.g. ``Speed here: int8 19 ms, fp32 29 ms, PyTorch 54 ms``."""
    return f"Speed here: {timings_text(timings)}" if timings else NOT_MEASURED


class Actions:
    """Every QAction of the main window, its menus by name, and the tool bar."""

    def __init__(self, window: QMainWindow) -> None:
        act = functools.partial(_action, window)
        self.open_files = act("&Open…", QKeySequence.Open,
                              icon=QStyle.StandardPixmap.SP_DialogOpenButton,
                              tip="Open one or more images")
        self.open_folder = act("Open &Folder…", "Ctrl+Shift+O",
                               icon=QStyle.StandardPixmap.SP_DirOpenIcon,
                               tip="Classify every image in a folder")
        self.export_result = act("&Export Result…", QKeySequence.Save,
                                 icon=QStyle.StandardPixmap.SP_DialogSaveButton,
                                 tip="Save the annotated image as PNG and its predictions as JSON")
        self.export_csv = act("Export &Table as CSV…", "Ctrl+Shift+S")
        self.quit = act("&Quit", "Ctrl+Q")
        self.clear_recent = act("&Clear Recent Files")
        self.paste = act("&Paste Image", QKeySequence.Paste,
                         tip="Classify the image or the image files on the clipboard")
        self.previous = act("&Previous Image", "Left", icon=QStyle.StandardPixmap.SP_ArrowBack)
        self.next = act("&Next Image", "Right", icon=QStyle.StandardPixmap.SP_ArrowForward)
        self.page_up = act("Back 10 Images", "PgUp")
        self.page_down = act("Forward 10 Images", "PgDown")
        self.first = act("F&irst Image", "Home")
        self.last = act("&Last Image", "End")
        self.full_screen = act("&Full Screen", "F11", checkable=True)
        self.dismiss_messages = act("&Dismiss Message")
        self.message_history = act("Message &History…", tip="Every message of this session")
        self.imagenet = act("&ImageNet (torchvision)", checkable=True,
                            tip="The official torchvision AlexNet weights, 1000 classes")
        self.open_weights = act("&Open Weights or Checkpoint…", "Ctrl+M",
                                tip="Any AlexNet state_dict or alexnet-gui checkpoint")
        self.export_model = act("&Export Model…",
                                tip="Write the model as ONNX or OpenVINO IR for other programs")
        self.tta = act("&TenCrop (test-time augmentation)", "Ctrl+T", checkable=True,
                       tip="Average the predictions of ten crops: slower, often more accurate")
        self.shortcuts = act("&Keyboard Shortcuts", "Ctrl+/")
        self.user_guide = act("&User Guide", QKeySequence.HelpContents,
                              tip="What each part of the window does, and the command line")
        self.about = act("&About AlexNet GUI")
        self.about_qt = act("About &Qt")
        self.device_group = QActionGroup(window)
        self.devices: dict[str, QAction] = {}
        for name in DEVICES:
            self.devices[name] = act(DEVICE_LABELS[name], checkable=True, data=name,
                                     group=self.device_group)
        cuda = self.devices["cuda"]
        cuda.setEnabled(False)
        cuda.setToolTip("Checked once the model is loaded")
        # A greyed-out item says why in its own text (menus show no tooltips).
        cuda.changed.connect(functools.partial(_say_why_disabled, cuda, DEVICE_LABELS["cuda"]))
        _say_why_disabled(cuda, DEVICE_LABELS["cuda"])
        self.engine_group = QActionGroup(window)
        self.engines: dict[str, QAction] = {
            name: act(ENGINE_LABELS[name], checkable=True, data=name, group=self.engine_group,
                      tip="Converted once per model, then cached; top-1 checked against PyTorch")
            for name in ENGINES
        }
        #: What the engines measured on this CPU, under them in Options > Engine (never clicked).
        self.engine_timings = act(NOT_MEASURED)
        self.engine_timings.setEnabled(False)
        self.topk_group = QActionGroup(window)
        self.topk: dict[int, QAction] = {}
        for k in range(TOPK_RANGE[0], TOPK_RANGE[1] + 1):
            self.topk[k] = act(f"Top-{k}", f"Ctrl+{k % 10}", checkable=True, data=k,
                               group=self.topk_group)
        self.menus: dict[str, QMenu] = {}
        self.toolbar = QToolBar("Main", window)
        _build_menus(window, self)


def _action(window: QMainWindow, text: str, shortcut: object = None, *,
            icon: QStyle.StandardPixmap | None = None, tip: str = "", checkable: bool = False,
            data: object = None, group: QActionGroup | None = None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if icon is not None:
        action.setIcon(present(window.style()).standardIcon(icon))
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    if data is not None:
        action.setData(data)
    if group is not None:
        group.addAction(action)
    window.addAction(action)  # shortcuts keep working in full screen, menu bar hidden
    return action


def _say_why_disabled(action: QAction, label: str) -> None:
    """``CUDA`` when it can be chosen, ``CUDA (no CUDA GPU found by torch 2.x)`` when not."""
    why = action.toolTip().strip()
    text = label if action.isEnabled() or not why else f"{label} ({why[0].lower()}{why[1:]})"
    if action.text() != text:  # setText emits changed() again
        action.setText(text)


def _submenu(parent: QMenuBar | QMenu, title: str) -> QMenu:
    return present(parent.addMenu(title))


def _build_menus(window: QMainWindow, a: Actions) -> None:
    bar = present(window.menuBar())
    file = a.menus["file"] = _submenu(bar, "&File")
    file.addActions([a.open_files, a.open_folder])
    a.menus["recent"] = _submenu(file, "Open &Recent")
    file.addSeparator()
    file.addActions([a.export_result, a.export_csv])
    file.addSeparator()
    file.addAction(a.quit)
    a.menus["edit"] = _submenu(bar, "&Edit")
    a.menus["edit"].addAction(a.paste)
    view = a.menus["view"] = _submenu(bar, "&View")
    view.addAction(a.full_screen)
    view.addAction(a.toolbar.toggleViewAction())
    view.addActions([a.dismiss_messages, a.message_history])
    view.addSeparator()  # panels add their toggle actions below
    go = a.menus["go"] = _submenu(bar, "&Go")
    go.addActions([a.previous, a.next, a.page_up, a.page_down, a.first, a.last])
    model = a.menus["model"] = _submenu(bar, "&Model")
    model.addActions([a.imagenet, a.open_weights])
    model.addAction(a.export_model)
    device = a.menus["device"] = _submenu(bar, "&Device")
    device.addActions(list(a.devices.values()))
    options = a.menus["options"] = _submenu(bar, "&Options")
    topk = _submenu(options, "Show &Top-k")
    topk.addActions(list(a.topk.values()))
    options.addAction(a.tta)
    engine = a.menus["engine"] = _submenu(options, "&Engine")
    engine.addActions(list(a.engines.values()))
    engine.addSeparator()
    engine.addAction(a.engine_timings)
    help_menu = a.menus["help"] = _submenu(bar, "&Help")
    help_menu.addActions([a.user_guide, a.shortcuts])
    help_menu.addSeparator()
    help_menu.addActions([a.about, a.about_qt])
    tools = a.toolbar
    tools.setObjectName("mainToolBar")
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for action, text in ((a.open_files, "Open"), (a.open_folder, "Open Folder"),
                         (a.export_result, "Export"), (a.previous, "Previous"),
                         (a.next, "Next")):
        action.setIconText(text)
    tools.setMovable(False)
    tools.addActions([a.open_files, a.open_folder, a.export_result])
    tools.addSeparator()
    tools.addActions([a.previous, a.next])
    window.addToolBar(tools)
