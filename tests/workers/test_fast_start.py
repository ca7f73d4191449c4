"""Instant start: the cached engine answers at once while the full network loads beside it.

The quick engine here is :class:`FakeQuick`, the quick engine's interface over a real classifier
(a stand-in for the cached OpenVINO engine, which tests/core covers); the full network's loader
waits at a gate, so "torch is still loading" is a state the test holds, not a race.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.messages import (
    BatchRequest,
    ClassifyRequest,
    FileSource,
    FrameSource,
    InsideViews,
    InspectOptions,
    ModelRequest,
)
from alexnet_gui.workers.folder_batch import BATCH_CHUNK, BatchControl
from alexnet_gui.workers.inference_client import InferenceClient
from alexnet_gui.workers.inference_worker import InferenceWorker, PendingSlot
from alexnet_gui.workers.model_loading import FAST_START, PREPARING
from tests.fixtures.tiny import tiny_classifier
from tests.workers.test_inference_worker import Recorder

WAIT_MS = 30_000


class FakeQuick:
    """The quick engine's interface over a real classifier; counts the images it classifies."""

    engine_name = "fake-openvino"

    def __init__(self, classifier: Classifier) -> None:
        self._classifier = classifier
        self.images = 0

    def classify(self, image, top_k: int = 5, *, tta: bool = False):
        self.images += 1
        return self._classifier.classify(image, topk=top_k, tta=tta)

    def classify_batch(self, images: Sequence, top_k: int = 5, *, tta: bool = False):
        self.images += len(images)
        return self._classifier.classify_batch(list(images), topk=top_k, tta=tta)

    def model_info(self):
        return self._classifier.info


class GatedLoader:
    """A loader that waits until the test opens the gate: "torch is still loading"."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.gate = threading.Event()
        self.devices: list[str] = []

    def __call__(self, _weights: Path | None, device: str) -> Classifier:
        self.devices.append(device)
        assert self.gate.wait(WAIT_MS / 1000), "the test never opened the gate"
        return self.classifier


class Events(Recorder):
    NAMES = (*Recorder.NAMES, "network_ready", "model_progress")


def fast_worker(quick: FakeQuick | None, loader: GatedLoader) -> tuple[InferenceWorker, Events]:
    worker = InferenceWorker(PendingSlot(), BatchControl(), loader=loader,
                             quick=lambda _weights, _engine: quick)
    return worker, Events(worker)


def open_gate(qtbot, worker: InferenceWorker, loader: GatedLoader, signal=None) -> None:
    """Let the full network load, and wait until it has replaced the quick engine."""
    with qtbot.waitSignal(signal or worker.network_ready, timeout=WAIT_MS):
        worker.models.start_network_load()
        loader.gate.set()


@pytest.fixture
def pair() -> tuple[FakeQuick, GatedLoader]:
    return FakeQuick(tiny_classifier()), GatedLoader(tiny_classifier())


def test_the_quick_engine_answers_before_the_network_has_loaded(qtbot, pair, chelsea_png,
                                                                 chelsea_rgb):
    quick, loader = pair
    worker, events = fast_worker(quick, loader)
    worker.load_model(ModelRequest(None, "cpu"))
    [status] = events.of("model_loaded")
    assert status.engine == f"fake-openvino ({FAST_START})" and status.note is None
    assert worker.classifier is None and worker.quick is quick
    worker.models.start_network_load()  # the loader waits at its gate: torch "is loading"
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png), topk=2))
    worker.classify(ClassifyRequest(2, FrameSource(chelsea_rgb, "camera")))
    still, frame = events.of("prediction_ready")
    assert len(still.prediction.scores) == 2 and still.views is None and not still.views_pending
    assert frame.prediction is not None and quick.images == 2
    assert loader.devices == ["cpu"] and worker.classifier is None  # still loading
    assert not events.of("runtime_reported")
    open_gate(qtbot, worker, loader)
    [ready] = events.of("network_ready")
    assert "full network is ready" in ready.headline
    assert worker.quick is None and worker.classifier is loader.classifier
    worker.classify(ClassifyRequest(3, FileSource(chelsea_png)))
    assert quick.images == 2 and len(events.of("prediction_ready")) == 3  # the network answered
    assert events.of("runtime_reported")[0].torch_version == torch.__version__


def test_inside_views_wait_for_the_network_then_the_newest_is_answered(
        qtbot, imagenet_like_classifier, chelsea_png):
    quick, loader = FakeQuick(imagenet_like_classifier), GatedLoader(imagenet_like_classifier)
    worker, events = fast_worker(quick, loader)
    worker.load_model(ModelRequest(None, "cpu"))
    worker.models.start_network_load()
    options = InspectOptions(layer="conv2")
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png), inspect=options))
    worker.classify(ClassifyRequest(2, FileSource(chelsea_png), inspect=options))
    first, second = events.of("prediction_ready")
    assert first.views_pending and second.views_pending and second.views is None
    assert second.prediction is not None  # the top-5 does not wait for the views
    open_gate(qtbot, worker, loader)
    answers = events.of("prediction_ready")
    assert len(answers) == 3  # the newest request only, answered again
    again = answers[-1]
    assert again.request_id == 2 and isinstance(again.views, InsideViews)
    assert again.views.options == options and not again.views_pending


def test_a_newer_request_without_views_is_not_answered_twice(qtbot, pair, chelsea_png):
    quick, loader = pair
    worker, events = fast_worker(quick, loader)
    worker.load_model(ModelRequest(None, "cpu"))
    options = InspectOptions()
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png), inspect=options))  # views wait
    worker.classify(ClassifyRequest(2, FileSource(chelsea_png)))  # ... until this one came
    open_gate(qtbot, worker, loader)
    assert [r.request_id for r in events.of("prediction_ready")] == [1, 2]


def test_a_model_asked_for_meanwhile_wins_over_the_loading_network(qtbot, pair, chelsea_png):
    quick, loader = pair
    other = tiny_classifier()
    finder_answers = [quick, None]  # the first weights have a cached engine, the second not
    worker = InferenceWorker(PendingSlot(), BatchControl(),
                             loader=lambda w, d: loader(w, d) if w is None else other,
                             quick=lambda _w, _e: finder_answers.pop(0))
    events = Events(worker)
    worker.load_model(ModelRequest(None, "cpu"))
    load = worker.models.load
    worker.models.start_network_load()
    worker.load_model(ModelRequest(Path("other.pth"), "cpu"))  # loads at once: no cached engine
    assert worker.classifier is other and worker.quick is None
    loader.gate.set()
    assert load is not None and load.join(WAIT_MS / 1000)
    qtbot.wait(50)  # the stale network's queued arrival is delivered, and ignored
    assert worker.classifier is other and not events.of("network_ready")


def test_with_a_gpu_the_cpu_engine_answers_until_cuda_is_ready(qtbot, monkeypatch, pair,
                                                                chelsea_png):
    quick, loader = pair
    classifier = loader.classifier
    classifier.device = torch.device("cuda")  # the flag only: no GPU here (tests/fixtures/tiny)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    worker, events = fast_worker(quick, loader)
    worker.load_model(ModelRequest(None, "auto"))
    assert events.of("model_loaded")[0].info.device == "cpu"
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png)))
    assert quick.images == 1
    open_gate(qtbot, worker, loader, worker.device_changed)
    [switched] = events.of("device_changed")
    assert switched.headline == "The GPU is ready: the model now runs on cuda (Fake GPU)"
    assert loader.devices == ["auto"] and not events.of("network_ready")
    assert events.of("runtime_reported")[0].cuda_name == "Fake GPU"


def test_a_device_chosen_while_the_network_loads_is_applied_when_it_is_there(qtbot, pair):
    quick, loader = pair
    worker, events = fast_worker(quick, loader)
    worker.load_model(ModelRequest(None, "auto"))
    worker.set_device("cpu")
    open_gate(qtbot, worker, loader)
    assert events.of("device_changed")[-1].info.device == "cpu"


def test_the_folder_table_fills_from_the_quick_engine(qtbot, pair, photo_folder):
    quick, loader = pair
    worker, events = fast_worker(quick, loader)
    worker.load_model(ModelRequest(None, "cpu"))
    worker._control.want(1)
    worker.start_batch(BatchRequest(1, (photo_folder,)))
    while worker.run_batch_chunk():
        pass
    items = events.of("batch_item_ready")
    assert [i.path.name for i in items] == ["astronaut.jpg", "broken.jpg", "chelsea.jpg",
                                            "coffee.jpg", "rocket.jpg"]
    [broken] = [i for i in items if i.error]
    full = InferenceWorker(PendingSlot(), BatchControl(), loader=lambda _w, _d: loader.classifier)
    full_events = Events(full)
    full.load_model(ModelRequest(None, "cpu", engine="pytorch"))
    full._control.want(1)
    full.start_batch(BatchRequest(1, (photo_folder / "broken.jpg",)))
    full.run_batch_chunk()
    assert broken.error == full_events.of("batch_item_ready")[0].error  # worded as the CLI does
    assert all(i.top1 is not None and i.model_name == "tiny" for i in items if not i.error)
    assert quick.images == 4 and worker.classifier is None
    [finished] = events.of("batch_finished")
    assert (finished.done, finished.total, finished.failed) == (5, 5, 1)


def test_a_batch_goes_on_with_the_network_once_it_is_there(qtbot, pair, chelsea_png, tmp_path):
    quick, loader = pair
    paths = []
    for i in range(BATCH_CHUNK + 2):
        paths.append(tmp_path / f"{i:02d}.png")
        shutil.copy(chelsea_png, paths[-1])
    worker, events = fast_worker(quick, loader)
    worker.load_model(ModelRequest(None, "cpu"))
    worker._control.want(1)
    worker.start_batch(BatchRequest(1, (tmp_path,)))
    assert worker.run_batch_chunk()  # one chunk from the quick engine
    assert len(events.of("batch_item_ready")) == quick.images == BATCH_CHUNK
    load = worker.models.load
    assert load is not None
    loader.gate.set()
    load.start()
    assert load.join(WAIT_MS / 1000)
    worker.models.take_network(load)  # here, not through the event loop: no chunk runs before
    while worker.run_batch_chunk():
        pass
    items = events.of("batch_item_ready")
    assert [i.index for i in items] == list(range(len(paths))) and quick.images == BATCH_CHUNK
    assert all(i.top1 is not None for i in items)
    assert events.of("batch_finished")[0].done == len(paths)


def test_without_a_cached_engine_the_one_time_conversion_is_announced(qapp):
    classifier = tiny_classifier()
    worker = InferenceWorker(PendingSlot(), BatchControl(), loader=lambda _w, _d: classifier,
                             quick=lambda _w, _e: None)
    events = Events(worker)
    worker.load_model(ModelRequest(None, "cpu", engine="pytorch"))
    assert not events.of("model_progress")
    worker.load_model(ModelRequest(None, "cpu", engine="auto"))
    assert events.of("model_progress") == [PREPARING]
    assert len(events.of("model_loaded")) == 2


def test_the_client_answers_from_its_thread_while_torch_loads(qtbot, qthread_guard, pair,
                                                              chelsea_png):
    quick, loader = pair
    client = InferenceClient(loader=loader, quick=lambda _w, _e: quick)
    client.start()
    try:
        with qtbot.waitSignals([client.model_loaded, client.prediction_ready], timeout=WAIT_MS):
            client.load_model(None, device="cpu")
            client.submit(FileSource(chelsea_png))
        assert quick.images == 1  # answered while the network is still to come
        qtbot.waitUntil(lambda: loader.devices == ["cpu"], timeout=WAIT_MS)  # at its gate now
        with qtbot.waitSignal(client.network_ready, timeout=WAIT_MS):
            loader.gate.set()
    finally:
        loader.gate.set()
        assert client.shutdown(WAIT_MS)


def test_the_apps_cached_engine_answers_first_and_agrees_with_the_network(
        qtbot, monkeypatch, int8_selection, engine_cache_home, photo_classifier_file, chelsea_png):
    """The real thing: core.inference.quick's engine first, then the real full network."""
    from alexnet_gui.core.engines.names import ENGINE_ENV

    monkeypatch.setenv("XDG_CACHE_HOME", str(engine_cache_home))
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    worker = InferenceWorker(PendingSlot(), BatchControl())  # the app's own loader and finder
    events = Events(worker)
    worker.load_model(ModelRequest(photo_classifier_file, "cpu", "openvino-int8"))
    [status] = events.of("model_loaded")
    assert status.engine == f"openvino-int8 ({FAST_START})" and worker.classifier is None
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png)))
    with qtbot.waitSignal(worker.network_ready, timeout=120_000):
        worker.models.start_network_load()
    assert worker.quick is None and worker.classifier is not None
    worker.classify(ClassifyRequest(2, FileSource(chelsea_png)))
    quick, full = (result.prediction for result in events.of("prediction_ready"))
    chelsea = int8_selection.spec.categories.index("chelsea")  # a trained model: real margins
    assert quick.top1.index == full.top1.index == chelsea and quick.top1.label == full.top1.label
    assert [s.index for s in quick.scores] == [s.index for s in full.scores]
    assert abs(quick.top1.probability - full.top1.probability) < 1e-3  # the same int8 engine
