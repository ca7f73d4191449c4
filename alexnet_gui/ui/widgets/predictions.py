"""The side panel: one probability bar per class of the top-k, and what model made them."""

from __future__ import annotations

import html

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QResizeEvent
from PyQt5.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction
from alexnet_gui.settings import TOPK_RANGE
from alexnet_gui.ui.widgets.overlay import percent

BAR_STEPS = 1000


class ElidedLabel(QLabel):
    """A one-line label that elides in the middle (long paths) and shows the full text on hover."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle,
                                                   self.width()))


class ScoreRow(QWidget):
    """One class: its name and percentage on a line, and a thin probability bar under them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.percent = QLabel()
        self.percent.setAlignment(Qt.Alignment(Qt.AlignmentFlag.AlignRight)
                                  | Qt.AlignmentFlag.AlignVCenter)
        # As wide as the widest value from the start: a width that follows the text jitters on
        # live video and was seen cut to "00.0 %" when a score first reached 100 %.
        self.percent.setMinimumWidth(self.percent.fontMetrics().horizontalAdvance("100.0 %") + 2)
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(7)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.label, 1)
        line.addWidget(self.percent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 4)
        layout.setSpacing(2)
        layout.addLayout(line)
        layout.addWidget(self.bar)

    def set_score(self, score: ClassScore) -> None:
        self.label.setText(f"{score.rank}. {score.label}")
        self.label.setToolTip(f"class {score.index}: {score.label}")
        self.percent.setText(percent(score.probability))
        self.bar.setValue(round(score.probability * BAR_STEPS))

    def text(self) -> str:
        return f"{self.label.text()}: {self.percent.text()}"


class PredictionsPanel(QWidget):
    """Probability bars (as many as top-k asks for) above a short description of the model.

    The model box names the weights and where they came from, so nobody mistakes the output of
    random or fine-tuned weights for the ImageNet model.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionsPanel")
        self.setMinimumWidth(240)
        layout = QVBoxLayout(self)
        self._title = QLabel("Predictions")
        self._title.setObjectName("panelTitle")
        layout.addWidget(self._title)
        self._rows = [ScoreRow() for _ in range(TOPK_RANGE[1])]
        for row in self._rows:
            layout.addWidget(row)
        self._empty = QLabel("No prediction yet.")
        self._empty.setWordWrap(True)
        layout.addWidget(self._empty)
        layout.addStretch(1)
        layout.addWidget(self._build_model_box())
        self.set_prediction(None)
        self.set_model(None)

    def _build_model_box(self) -> QGroupBox:
        box = QGroupBox("Model")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._model_fields: dict[str, QLabel] = {}
        for key in ("Weights", "Classes", "Architecture", "Input", "Device", "Latency"):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{key}:", value)
            self._model_fields[key] = value
        self.source = ElidedLabel()
        form.addRow("Source:", self.source)
        # Which engine runs and why: the app's own decision, shown here and never as an error.
        self._engine_title = QLabel("Engine:")
        self.engine = QLabel()
        self.engine.setObjectName("modelEngine")
        self.engine.setWordWrap(True)
        self.engine.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        device_row = form.getWidgetPosition(self._model_fields["Device"])[0] or 0
        form.insertRow(device_row + 1, self._engine_title, self.engine)
        self.set_engine(None)
        return box

    def set_engine(self, decision: str | None) -> None:
        """Show which engine runs and why (``None``: hide the row, as for a compared model)."""
        self.engine.setText(f"<small>{html.escape(decision)}</small>" if decision else "")
        self.engine.setToolTip(decision or "")
        self.engine.setVisible(bool(decision))
        self._engine_title.setVisible(bool(decision))

    def bar_texts(self) -> list[str]:
        """``"1. label: 12.3 %"`` for each visible bar (tests and accessibility)."""
        return [row.text() for row in self._rows if not row.isHidden()]

    def set_prediction(self, prediction: Prediction | None, *, message: str | None = None) -> None:
        scores = prediction.scores if prediction is not None else ()
        self._title.setText(f"Top {len(scores)}" if scores else "Predictions")
        for i, row in enumerate(self._rows):
            row.setHidden(i >= len(scores))
            if i < len(scores):
                row.set_score(scores[i])
        self._empty.setVisible(not scores)
        self._empty.setText(message or "No prediction yet.")
        if prediction is not None:
            tta = " with TenCrop" if prediction.tta else ""
            self._model_fields["Latency"].setText(f"{prediction.elapsed_ms:.0f} ms{tta}")

    def set_model(
        self, info: ModelInfo | None, *, official: bool = False, note: str | None = None
    ) -> None:
        """Describe the model; ``official``: the ImageNet weights, not a file the user chose."""
        fields = self._model_fields
        if info is None:
            for value in fields.values():
                value.setText("—")
            fields["Weights"].setText(note or "No model loaded")
            self.source.set_full_text("—")
            self.set_engine(None)
            return
        kind = "the official ImageNet weights" if official else "a weights file you chose"
        fields["Weights"].setText(f"<b>{html.escape(info.name)}</b><br><small>{kind}</small>")
        fields["Classes"].setText(f"{info.num_classes}")
        fields["Architecture"].setText(info.arch)
        fields["Input"].setText(f"{info.input_size}×{info.input_size}")
        fields["Device"].setText(info.device)
        self.source.set_full_text(info.source)
