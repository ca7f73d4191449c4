"""The status bar's permanent fields: which weights, on which device, and how fast."""

from __future__ import annotations

from PyQt5.QtWidgets import QLabel, QStatusBar

from alexnet_gui.core.results import ModelInfo, Prediction


class StatusFields:
    """Labels on the right of the status bar; messages come and go on the left.

    ``live`` is empty unless a camera or video plays: then it shows the capture rate, the rate
    of results and the capture-to-overlay latency.
    """

    def __init__(self, bar: QStatusBar) -> None:
        self.live = QLabel()
        self.live.setObjectName("statusLive")
        self.model = QLabel()
        self.model.setObjectName("statusModel")
        self.device = QLabel()
        self.device.setObjectName("statusDevice")
        self.latency = QLabel()
        self.latency.setObjectName("statusLatency")
        for label in (self.live, self.model, self.device, self.latency):
            label.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(label)
        self._model_device = ""  # the model box's text, e.g. "cpu (openvino-bf16)"
        self.set_model(None, text="No model")

    def set_model(self, info: ModelInfo | None, *, text: str | None = None) -> None:
        if info is None:
            self.model.setText(text or "No model")
            self.model.setToolTip("")
            self.device.setText("")
            self._model_device = ""
            return
        self._model_device = info.device
        self.model.setText(f"Model: {info.name} · {info.num_classes} classes")
        self.model.setToolTip(f"{info.arch} AlexNet, {info.input_size} px input\n{info.source}")
        self.device.setText(f"Device: {info.device}")

    def set_prediction(self, prediction: Prediction | None, decode_ms: float) -> None:
        if prediction is None:
            self.latency.setText("")
            return
        tta = " (TenCrop)" if prediction.tta else ""
        self.latency.setText(f"{prediction.elapsed_ms:.0f} ms{tta} · decode {decode_ms:.0f} ms")
        # The model box's words ("cpu (openvino-bf16)"), unless this result ran elsewhere
        # (a GPU that ran out of memory hands the work to the CPU).
        same = self._model_device.split(" ", 1)[0] == prediction.device
        self.device.setText(f"Device: {self._model_device if same else prediction.device}")

    def set_live(self, *, capture_fps: float | None, classified_fps: float | None,
                 latency_ms: float | None) -> None:
        """The live figures; ``None`` is not measured yet (shown as a dash)."""

        def show(value: float | None, unit: str) -> str:
            return "–" if value is None else f"{value:.0f} {unit}"

        self.live.setText(f"Capture {show(capture_fps, 'fps')} · classified "
                          f"{show(classified_fps, 'fps')} · latency {show(latency_ms, 'ms')}")
        self.live.setToolTip("Frames read per second · results per second · time from a frame's "
                             "capture to its result on screen")

    def set_frozen(self) -> None:
        """A frozen stream: no rates (nothing is read or classified), only that it is frozen."""
        self.live.setText("Frozen")
        self.live.setToolTip("The stream is frozen on this frame: Camera > Freeze to go on")

    def clear_live(self) -> None:
        self.live.setText("")
        self.live.setToolTip("")
