"""Help > Keyboard Shortcuts and Help > User Guide: what a new user looks for first.

The shortcut sheet is read from the window's actions, so it never disagrees with the menus; the
guide is the project's README, shown in the app (nothing to download, works offline).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui import APP_NAME
from alexnet_gui.paths import resources_dir

#: What the mouse and the keys that belong to no menu item do.
MORE_KEYS = (
    ("Drop files or a folder on the window", "Open them"),
    ("Left / Right with one file open", "Browse the other images of its folder"),
)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """``(what it does, key)`` for every action with a shortcut, in menu order, no duplicates."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for action in actions:
        keys = action.shortcut().toString(QKeySequence.NativeText)
        name = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        name = name.rstrip("…").rstrip(".")
        if keys and keys not in seen:
            seen.add(keys)
            rows.append((name, keys))
    return rows


class ShortcutsDialog(QDialog):
    """A two-column sheet: the action and its key."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard Shortcuts")
        self.table = QTableWidget(len(rows) + len(MORE_KEYS), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Key"])
        for row, (name, keys) in enumerate([*rows, *((k, n) for n, k in MORE_KEYS)]):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        header = self.table.horizontalHeader()
        assert header is not None
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(460, 520)


def guide_path() -> Path:
    """The README beside ``resources/`` (a checkout or a bundle that carries it)."""
    return resources_dir().parent / "README.md"


class GuideDialog(QDialog):
    """The README, rendered; links open in the system's browser."""

    def __init__(self, parent: QWidget | None = None, *, path: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guideDialog")
        self.setWindowTitle(f"{APP_NAME} User Guide")
        path = guide_path() if path is None else path
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        try:
            self.browser.setMarkdown(path.read_text(encoding="utf-8"))
        except OSError:
            self.browser.setPlainText(
                f"The guide ({path.name}) is not installed with this copy of {APP_NAME}.\n\n"
                "Run `alexnet-gui --help` and `alexnet-gui COMMAND --help` in a terminal, or read "
                "README.md in the project's source.")
        where = QLabel(f"From {path}")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(where)
        layout.addWidget(buttons)
        self.resize(760, 640)


def show_shortcuts(parent: QWidget) -> None:
    """The sheet for ``parent``'s actions (the main window's, menus and tool bar alike)."""
    dialog = parent.findChild(ShortcutsDialog) or ShortcutsDialog(shortcut_rows(parent.actions()),
                                                                  parent)
    dialog.show()
    dialog.raise_()


def show_guide(parent: QWidget) -> None:
    dialog = parent.findChild(GuideDialog) or GuideDialog(parent)
    dialog.show()
    dialog.raise_()
