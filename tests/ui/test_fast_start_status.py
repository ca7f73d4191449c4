"""What the window says about a fast start: the one-time conversion, the network arriving."""

from __future__ import annotations

from pathlib import Path

from alexnet_gui.core.results import ModelInfo
from alexnet_gui.messages import FileSource, ModelStatus
from alexnet_gui.ui.main_window import MainWindow
from alexnet_gui.ui.model_controller import ModelController
from tests.ui.fakes import fake_session

INFO = ModelInfo(name="alexnet-random.pth", arch="torchvision", num_classes=2, source="x",
                 input_size=224, device="cpu (openvino-int8)", categories=("cat", "dog"))
PREPARING = "Preparing the fast engine for these weights (once)…"


def make(qtbot, tmp_path: Path):
    window = MainWindow()
    qtbot.addWidget(window)
    session, client = fake_session(tmp_path)
    ModelController(session, actions=window.actions_, predictions=window.predictions,
                    status=window.status, dialog_parent=window)
    lines: list[str] = []
    session.status_posted.connect(lambda text, _ms: lines.append(text))
    return window, session, client, lines


def test_the_one_time_conversion_is_said_in_the_status_bar_and_model_box(qapp, qtbot, tmp_path):
    window, _session, client, lines = make(qtbot, tmp_path)
    client.model_progress.emit(PREPARING)
    assert lines == [PREPARING] and window.status.model.text() == PREPARING
    assert window.predictions.engine.toolTip() == PREPARING


def test_the_full_network_arriving_is_said_without_classifying_again(qapp, qtbot, tmp_path):
    window, session, client, lines = make(qtbot, tmp_path)
    client.model_loaded.emit(ModelStatus(INFO, None, 300.0, engine="openvino-int8 (fast start)"))
    session.submit_still(FileSource(tmp_path / "a.png"))
    submitted = len(client.of("submit"))
    client.network_ready.emit(ModelStatus(INFO, None, engine="openvino-int8 (measured)",
                                          headline="The full network is ready"))
    assert lines[-1] == "The full network is ready. Engine openvino-int8 (measured)"
    assert len(client.of("submit")) == submitted  # the top-5 on screen stays; no second pass
    assert window.predictions.engine.toolTip() == "openvino-int8 (measured)"
    gpu = ModelStatus(INFO, None, engine="pytorch on cuda", headline="The GPU is ready: cuda")
    client.device_changed.emit(gpu)
    assert lines[-1].startswith("The GPU is ready: cuda")
    assert len(client.of("submit")) == submitted + 1  # a device change classifies again
