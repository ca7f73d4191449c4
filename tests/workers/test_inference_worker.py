"""The inference worker's logic, called synchronously in the test's thread (no QThread)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.errors import WeightsError, WeightsNotFoundError
from alexnet_gui.messages import (
    BatchRequest,
    BytesSource,
    ClassifyRequest,
    ClassifyResult,
    FileSource,
    FrameSource,
    InsideViews,
    InspectOptions,
    ModelRequest,
)
from alexnet_gui.workers import folder_batch
from alexnet_gui.workers.folder_batch import BatchControl
from alexnet_gui.workers.inference_worker import InferenceWorker, PendingSlot


class Recorder:
    """Collects every signal of a worker, in order, as (signal name, payload)."""

    NAMES = ("runtime_reported", "model_loaded", "model_failed", "device_changed", "device_failed",
             "prediction_ready", "request_failed", "batch_started", "batch_item_ready",
             "batch_finished")

    def __init__(self, worker: InferenceWorker) -> None:
        self.events: list[tuple[str, object]] = []
        for name in self.NAMES:
            getattr(worker, name).connect(lambda payload, name=name: self.events.append((name,
                                                                                         payload)))

    def of(self, name: str) -> list:
        return [payload for event, payload in self.events if event == name]


@pytest.fixture
def worker(qapp, imagenet_like_classifier):
    pending, control = PendingSlot(), BatchControl()
    worker = InferenceWorker(pending, control, loader=lambda _w, _d: imagenet_like_classifier)
    worker.control = control  # for the tests
    return worker


@pytest.fixture
def recorder(worker) -> Recorder:
    return Recorder(worker)


def loaded(worker: InferenceWorker) -> InferenceWorker:
    worker.load_model(ModelRequest(None, "cpu"))
    return worker


def test_pending_slot_keeps_only_the_newest():
    slot = PendingSlot()
    for i in range(1, 4):
        slot.put(ClassifyRequest(i, FileSource(Path(f"{i}.png"))))
    assert slot.waiting()
    assert slot.take().request_id == 3
    assert slot.take() is None
    assert slot.superseded == 2


def test_load_reports_runtime_then_model(worker, recorder):
    loaded(worker)
    runtime = recorder.of("runtime_reported")[0]
    assert runtime.cuda_available is False and runtime.torch_version
    status = recorder.of("model_loaded")[0]
    assert status.info.num_classes == 1000 and status.info.device == "cpu"
    assert status.weights is None and status.elapsed_ms >= 0


def test_classify_file_gives_display_image_and_topk(worker, recorder, chelsea_png):
    loaded(worker).classify(ClassifyRequest(7, FileSource(chelsea_png), topk=3))
    (result,) = recorder.of("prediction_ready")
    assert isinstance(result, ClassifyResult)
    assert result.request_id == 7 and result.name == "chelsea.png" and result.path == chelsea_png
    assert result.image.dtype == np.uint8 and result.image.shape == (300, 451, 3)
    assert len(result.prediction.scores) == 3
    assert result.model.num_classes == 1000 and result.views is None


def test_frame_and_bytes_sources(worker, recorder, chelsea_rgb, chelsea_png):
    loaded(worker)
    bgr = np.ascontiguousarray(chelsea_rgb[..., ::-1])
    worker.classify(ClassifyRequest(1, FrameSource(bgr, "camera", bgr=True)))
    worker.classify(ClassifyRequest(2, BytesSource(chelsea_png.read_bytes(), "drop.png")))
    frame, data = recorder.of("prediction_ready")
    np.testing.assert_array_equal(frame.image, chelsea_rgb)  # BGR was turned back into RGB
    assert data.name == "drop.png"
    # A frame takes the engines' fast pre-processing path: the same class, within 1%.
    assert frame.prediction.top1.index == data.prediction.top1.index
    assert abs(frame.prediction.top1.probability - data.prediction.top1.probability) <= 0.01


def test_broken_file_is_a_message_not_an_exception(worker, recorder, photo_folder):
    loaded(worker).classify(ClassifyRequest(3, FileSource(photo_folder / "broken.jpg")))
    (failure,) = recorder.of("request_failed")
    assert failure.request_id == 3 and failure.path.name == "broken.jpg"
    assert "broken.jpg" in failure.message and "\n" not in failure.message
    assert not recorder.of("prediction_ready")


def test_without_a_model_the_image_is_still_shown(worker, recorder, chelsea_png):
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png)))
    (result,) = recorder.of("prediction_ready")
    assert result.prediction is None and result.model is None
    assert "No model" in result.message and result.image.shape == (300, 451, 3)


def test_a_waiting_newer_file_skips_the_forward_pass(worker, recorder, chelsea_png):
    loaded(worker)
    worker._pending.put(ClassifyRequest(2, FileSource(chelsea_png)))
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png)))
    assert not recorder.of("prediction_ready")
    worker.process_pending()
    assert [r.request_id for r in recorder.of("prediction_ready")] == [2]


def test_inspect_options_fill_views(worker, recorder, chelsea_png):
    options = InspectOptions(layer="conv1", channel=2)
    loaded(worker).classify(ClassifyRequest(1, FileSource(chelsea_png), topk=3, inspect=options))
    worker.classify(ClassifyRequest(2, FileSource(chelsea_png), topk=2, tta=True, inspect=options))
    first, second = recorder.of("prediction_ready")
    assert isinstance(first.views, InsideViews) and first.views.options is options
    assert first.views.network.activations["conv1"].shape == (64, 55, 55)
    assert first.views.channel.display_overlay.shape == (300, 451, 3)  # the whole picture
    assert len(first.prediction.scores) == 3 and not first.views.frame
    assert second.prediction.tta and len(second.prediction.scores) == 2  # TTA honoured
    assert second.views.kernels is first.views.kernels  # the worker keeps its inspector


def test_failed_load_keeps_the_previous_model(qapp, imagenet_like_classifier):
    answers = [imagenet_like_classifier, WeightsNotFoundError("no ImageNet"), WeightsError("bad")]

    def loader(_weights, _device):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    worker = InferenceWorker(PendingSlot(), BatchControl(), loader)
    recorder = Recorder(worker)
    worker.load_model(ModelRequest(None))
    worker.load_model(ModelRequest(None))
    worker.load_model(ModelRequest(Path("bad.pth")))
    missing, bad = recorder.of("model_failed")
    assert missing.missing_imagenet and missing.current.num_classes == 1000
    assert not bad.missing_imagenet and bad.message == "bad" and bad.weights == Path("bad.pth")
    assert worker.classifier is imagenet_like_classifier


def test_device_switch_without_cuda(worker, recorder):
    loaded(worker)
    worker.set_device("cuda")
    assert "CUDA is not available" in recorder.of("device_failed")[0]
    worker.set_device("cpu")
    assert recorder.of("device_changed")[0].info.device == "cpu"


def test_cuda_request_falls_back_to_cpu_with_a_note(worker, recorder):
    worker.load_model(ModelRequest(None, "cuda"))
    status = recorder.of("model_loaded")[0]
    assert status.info.device == "cpu" and "CUDA is not available" in status.note


def run_batch(worker: InferenceWorker, batch_id: int, paths: tuple[Path, ...]) -> None:
    worker.control.want(batch_id)
    worker.start_batch(BatchRequest(batch_id, paths))
    while worker.run_batch_chunk():
        pass


def test_batch_classifies_a_folder_and_reports_the_broken_file(worker, recorder, photo_folder):
    run_batch(loaded(worker), 1, (photo_folder,))
    (started,) = recorder.of("batch_started")
    assert [p.name for p in started.paths] == [
        "astronaut.jpg", "broken.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]
    items = recorder.of("batch_item_ready")
    assert sorted(item.index for item in items) == [0, 1, 2, 3, 4]
    broken = [item for item in items if item.error]
    assert [item.path.name for item in broken] == ["broken.jpg"]
    assert all(item.top1 is not None for item in items if not item.error)
    (finished,) = recorder.of("batch_finished")
    assert (finished.done, finished.total, finished.failed, finished.cancelled) == (5, 5, 1, False)


def test_batch_without_a_model_lists_the_images(worker, recorder, photo_folder):
    run_batch(worker, 1, (photo_folder,))
    assert len(recorder.of("batch_started")[0].paths) == 5
    assert "No model" in recorder.of("batch_finished")[0].message
    assert not recorder.of("batch_item_ready")


def test_batch_cancel_stops_at_the_next_image(worker, recorder, photo_folder):
    loaded(worker)
    worker.control.want(1)
    worker.start_batch(BatchRequest(1, (photo_folder,)))
    worker.control.want(0)  # the GUI cancelled
    assert worker.run_batch_chunk() is False
    (finished,) = recorder.of("batch_finished")
    assert finished.cancelled and finished.done == 0
    assert not recorder.of("batch_item_ready")


def test_single_request_interleaves_with_a_batch(worker, recorder, tmp_path, chelsea_rgb,
                                                 monkeypatch):
    monkeypatch.setattr(folder_batch, "BATCH_CHUNK", 2)
    for i in range(6):
        Image.fromarray(chelsea_rgb).save(tmp_path / f"{i}.png")
    loaded(worker)
    worker.control.want(1)
    worker.start_batch(BatchRequest(1, (tmp_path,)))
    assert worker.run_batch_chunk() is True  # first chunk: two images
    worker._pending.put(ClassifyRequest(9, FileSource(tmp_path / "5.png")))
    worker.run_batch_chunk()  # serves the single image first, then the next chunk
    names = [name for name, _ in recorder.events if name in ("prediction_ready",
                                                             "batch_item_ready")]
    assert names == ["batch_item_ready"] * 2 + ["prediction_ready"] + ["batch_item_ready"] * 2


def test_a_new_batch_cancels_the_running_one(worker, recorder, photo_folder):
    loaded(worker)
    worker.control.want(1)
    worker.start_batch(BatchRequest(1, (photo_folder,)))
    worker.control.want(2)
    worker.start_batch(BatchRequest(2, (photo_folder / "chelsea.jpg",)))
    while worker.run_batch_chunk():
        pass
    first, second = recorder.of("batch_finished")
    assert (first.batch_id, first.cancelled) == (1, True)
    assert (second.batch_id, second.done, second.cancelled) == (2, 1, False)


def test_out_of_memory_on_the_gpu_finishes_on_the_cpu_and_says_so(qapp, chelsea_png):
    import torch

    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.inference.fallback import FALLBACK_NOTE
    from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
    from alexnet_gui.core.models.weights import LoadedModel
    from tests.fixtures.models import random_model

    spec = WeightsSpec("tiny", "torchvision", ("a", "b", "c"), Preprocessing(), "test")
    classifier = Classifier(LoadedModel(random_model(num_classes=3), spec), device="cpu")
    forward = classifier.model.forward
    devices: list[str] = []

    def flaky_forward(x: torch.Tensor) -> torch.Tensor:
        devices.append(classifier.device.type)
        if len(devices) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return forward(x)

    classifier.model.forward = flaky_forward
    worker = InferenceWorker(PendingSlot(), BatchControl(), loader=lambda _w, _d: classifier)
    recorder = Recorder(worker)
    loaded(worker)
    classifier.device = torch.device("cuda")  # the flag only: there is no GPU here
    worker.classify(ClassifyRequest(1, FileSource(chelsea_png), topk=2))
    assert devices == ["cuda", "cpu"]
    [result] = recorder.of("prediction_ready")
    assert len(result.prediction.scores) == 2 and not recorder.of("request_failed")
    [status] = recorder.of("device_changed")
    assert status.note == FALLBACK_NOTE and status.info.device == "cpu"
