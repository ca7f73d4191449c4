"""The engine ``auto`` chose, in the real app: a decision for the status bar, the model panel and
Options > Engine, never for the red message bar (issue #14).

``fake_openvino`` plays the runtime, the CPU probe and the timing, so what is shown does not
depend on this machine's CPU: the figures are the test's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.fixtures.engines import FakeOpenVINO
from tests.fixtures.models import random_model


@pytest.fixture(scope="module")
def three_class_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weights of their own, so the session-wide cached Classifier of other tests keeps its
    PyTorch engine."""
    path = tmp_path_factory.mktemp("engine-choice") / "three-classes.pth"
    torch.save(random_model(num_classes=3, seed=3).state_dict(), path)
    return path


def test_the_engine_decision_goes_to_the_status_bar_not_the_message_bar(
    qtbot, make_gui, fake_openvino: FakeOpenVINO, three_class_file: Path
) -> None:
    fake = fake_openvino
    fake.agreements = {"int8": 0.824}  # issue #14's start-up: int8 falls short of the bar
    fake.timings = {"openvino-int8": 19.0, "openvino-fp32": 29.0, "pytorch": 54.0}
    gui = make_gui()
    shown: list[str] = []
    gui.session.status_posted.connect(lambda text, _ms: shown.append(text))
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=60_000) as loaded:
        gui.start(weights=str(three_class_file))
    status = loaded.args[0]
    assert status.note is None and status.info.device == "cpu (openvino-fp32)"
    qtbot.waitUntil(lambda: any("Engine" in text for text in shown), timeout=5_000)

    decision = status.engine
    assert decision.startswith("OPENVINO-FP32: auto, the fastest measured on this CPU (29 ms)")
    assert "int8 (19 ms, agrees with fp32 on only 82.4%)" in decision
    assert "bf16 (not native on this CPU)" in decision  # the fake CPU has no BF16
    assert any(decision in text for text in shown)  # the status bar
    assert gui.window.predictions.engine.toolTip() == decision  # the model panel
    assert gui.window.actions_.engine_timings.text() == (
        "Speed here: int8 19 ms, fp32 29 ms, PyTorch 54 ms"
    )  # Options > Engine
    assert not gui.window.messages.isVisible() and gui.window.messages.history == []


def test_an_engine_the_user_chose_that_cannot_run_is_a_message(
    qtbot, make_gui, fake_openvino: FakeOpenVINO, three_class_file: Path, monkeypatch
) -> None:
    from alexnet_gui.core.engines import openvino

    gui = make_gui()
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=60_000):
        gui.start(weights=str(three_class_file))
    monkeypatch.setattr(openvino, "available", lambda: False)
    with qtbot.waitSignal(gui.session.inference.device_changed, timeout=30_000) as changed:
        gui.window.actions_.engines["openvino-int8"].trigger()
    assert "not installed" in changed.args[0].note
    qtbot.waitUntil(gui.window.messages.isVisible, timeout=5_000)
    assert "not installed" in gui.window.messages.text
    assert gui.window.predictions.engine.toolTip().startswith("PyTorch fp32: openvino-int8")
