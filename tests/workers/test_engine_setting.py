"""The engine as a setting: the Settings field, the worker's reports, the Options > Engine menu."""

from __future__ import annotations

from alexnet_gui.core.engines import names, openvino, select
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.weights import LoadedModel
from tests.fixtures.engines import FakeEngine, three_class_spec
from tests.fixtures.models import random_model


def test_the_engine_setting_defaults_to_auto_and_rejects_unknown_names() -> None:
    from alexnet_gui.settings import Settings

    assert Settings().engine == "auto"
    assert Settings(engine="openvino-int8").engine == "openvino-int8"
    assert Settings(engine="tensorrt").engine == "auto"


def test_worker_reports_an_engine_that_cannot_be_used(qapp, monkeypatch, chelsea_rgb) -> None:
    from alexnet_gui.messages import ClassifyRequest, FrameSource, ModelRequest
    from alexnet_gui.workers.folder_batch import BatchControl
    from alexnet_gui.workers.inference_worker import InferenceWorker
    from alexnet_gui.workers.pending_slot import PendingSlot

    classifier = Classifier(
        LoadedModel(random_model(num_classes=3), three_class_spec()), device="cpu"
    )
    worker = InferenceWorker(PendingSlot(), BatchControl(), lambda weights, device: classifier)
    statuses, results = [], []
    worker.model_loaded.connect(statuses.append)
    worker.device_changed.connect(statuses.append)
    worker.prediction_ready.connect(results.append)
    monkeypatch.setattr(openvino, "available", lambda: False)
    worker.load_model(ModelRequest(None, "cpu", "openvino-int8"))
    assert classifier.engine.name == "pytorch" and "not installed" in statuses[-1].note
    assert statuses[-1].engine == "PyTorch fp32: openvino-int8 could not be used."

    failing = FakeEngine("openvino-int8", 1.0, fail=True)
    classifier.engine = select.SelectedEngine(
        "openvino-int8", failing, classifier.engine.reference
    )
    worker.classify(ClassifyRequest(1, FrameSource(chelsea_rgb)))  # the frame fast path
    assert results[-1].prediction is not None and results[-1].model.device == "cpu"
    assert "the device went away" in statuses[-1].note


def test_options_engine_menu_switches_inside_the_worker(qtbot, gui) -> None:
    actions = gui.window.actions_.engines
    assert set(actions) == set(names.ENGINES) and actions["auto"].isChecked()
    with qtbot.waitSignal(gui.session.inference.device_changed, timeout=30_000) as blocker:
        actions["pytorch"].trigger()
    assert blocker.args[0].info.device == "cpu" and blocker.args[0].note is None
    assert blocker.args[0].engine == ("PyTorch fp32: chosen in Options > Engine, by --engine, "
                                      "or by Teach for a model it taught.")
    assert gui.session.settings.engine == "pytorch"
