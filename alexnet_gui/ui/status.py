"""The status bar's permanent fields: which weights, on which device, and how fast."""

from __future__ import annotations

from PyQt5.QtWidgets import QLabel, QStatusBar

from alexnet_gui.core.results import ModelInfo, Prediction


class StatusFields:
    """Three labels on the right of the status bar; messages come and go on the left."""

    def __init__(self, bar: QStatusBar) -> None:
        self.model = QLabel()
        self.model.setObjectName("statusModel")
        self.device = QLabel()
        self.device.setObjectName("statusDevice")
        self.latency = QLabel()
        self.latency.setObjectName("statusLatency")
        for label in (self.model, self.device, self.latency):
            label.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(label)
        self.set_model(None, text="No model")

    def set_model(self, info: ModelInfo | None, *, text: str | None = None) -> None:
        if info is None:
            self.model.setText(text or "No model")
            self.model.setToolTip("")
            self.device.setText("")
            return
        self.model.setText(f"Model: {info.name} · {info.num_classes} classes")
        self.model.setToolTip(f"{info.arch} AlexNet, {info.input_size} px input\n{info.source}")
        self.device.setText(f"Device: {info.device}")

    def set_prediction(self, prediction: Prediction | None, decode_ms: float) -> None:
        if prediction is None:
            self.latency.setText("")
            return
        tta = " (TenCrop)" if prediction.tta else ""
        self.latency.setText(f"{prediction.elapsed_ms:.0f} ms{tta} · decode {decode_ms:.0f} ms")
        self.device.setText(f"Device: {prediction.device}")
