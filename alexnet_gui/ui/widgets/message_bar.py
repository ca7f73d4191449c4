"""A dismissable strip above the picture for problems that must not block anything.

A hundred unreadable files make one strip that says "(+99 more)", not a hundred dialogs; the
last messages are kept in its tooltip.
"""

from __future__ import annotations

from collections import deque

from PyQt5.QtCore import pyqtSlot
from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

HISTORY = 30


class MessageBar(QFrame):
    """Shows the newest message and how many came since the bar was last dismissed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet(
            "#messageBar { background: #5c2b29; border: 1px solid #8a3b37; border-radius: 3px; }"
            "#messageBar QLabel { color: #ffe9e7; }"
        )
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._close = QToolButton()
        self._close.setText("✕")
        self._close.setToolTip("Dismiss")
        self._close.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._close)
        self._close.clicked.connect(self._on_close_clicked)
        self._history: deque[str] = deque(maxlen=HISTORY)
        self._count = 0
        self.setVisible(False)

    @property
    def text(self) -> str:
        return self._label.text()

    @property
    def count(self) -> int:
        """Messages since the bar was last dismissed."""
        return self._count

    def show_message(self, text: str) -> None:
        self._count += 1
        self._history.append(text)
        more = f"   (+{self._count - 1} more; hover for the list)" if self._count > 1 else ""
        self._label.setText(text + more)
        self.setToolTip("\n".join(self._history))
        self.setVisible(True)

    def dismiss(self) -> None:
        self._count = 0
        self.setVisible(False)

    @pyqtSlot()
    def _on_close_clicked(self) -> None:
        self.dismiss()
