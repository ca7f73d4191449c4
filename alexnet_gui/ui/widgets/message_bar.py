"""A dismissable strip above the picture for the one problem that matters now.

It shows the current problem only: a new one replaces it, and the session clears it when the next
image loads fine. Every message of the session is kept (with its time) in the history, a click
away on the bar's "History" button or in View > Message History.
"""

from __future__ import annotations

import time
from collections import deque

from PyQt5.QtCore import pyqtSlot
from PyQt5.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

HISTORY = 200


class MessageBar(QFrame):
    """The current problem, a History button and a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet(
            "#messageBar { background: #5c2b29; border: 1px solid #8a3b37; border-radius: 3px; }"
            "#messageBar QLabel, #messageBar QToolButton { color: #ffe9e7; }"
        )
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._history_button = QToolButton()
        self._history_button.setObjectName("messageHistoryButton")
        self._history_button.setText("History")
        self._history_button.setToolTip("Every message of this session")
        self._history_button.setAutoRaise(True)
        self._close = QToolButton()
        self._close.setText("✕")
        self._close.setToolTip("Dismiss")
        self._close.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._history_button)
        layout.addWidget(self._close)
        self._close.clicked.connect(self._on_close_clicked)
        self._history_button.clicked.connect(self._on_history_clicked)
        self._history: deque[str] = deque(maxlen=HISTORY)
        self._dialog: HistoryDialog | None = None
        self.setVisible(False)

    @property
    def text(self) -> str:
        return self._label.text()

    @property
    def history(self) -> list[str]:
        """Every message of the session (the newest last), each with the time it came."""
        return list(self._history)

    @property
    def history_dialog(self) -> HistoryDialog | None:
        return self._dialog

    def show_message(self, text: str) -> None:
        """Show ``text`` as the current problem (replacing any other) and keep it in the history."""
        self._history.append(f"{time.strftime('%H:%M:%S')}  {text}")
        self._label.setText(text)
        self.setToolTip("")
        self.setVisible(True)
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.set_lines(self.history)

    def dismiss(self) -> None:
        """Hide the current problem (it stays in the history)."""
        self.setVisible(False)

    def show_history(self) -> None:
        """A window listing the session's messages, newest last."""
        if self._dialog is None:
            self._dialog = HistoryDialog(self.window())
        self._dialog.set_lines(self.history)
        self._dialog.show()
        self._dialog.raise_()

    @pyqtSlot()
    def _on_close_clicked(self) -> None:
        self.dismiss()

    @pyqtSlot()
    def _on_history_clicked(self) -> None:
        self.show_history()


class HistoryDialog(QDialog):
    """The session's messages as read-only text that can be selected and copied."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageHistory")
        self.setWindowTitle("Message History")
        self.resize(640, 320)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def set_lines(self, lines: list[str]) -> None:
        self.text.setPlainText("\n".join(lines) if lines else "No messages yet.")
        bar = self.text.verticalScrollBar()
        if bar is not None:
            bar.setValue(bar.maximum())
