"""The client and the worker on a real QThread: requests out, newest results back."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from alexnet_gui.core.results import ClassScore, Prediction
from alexnet_gui.messages import (
    BatchItem,
    ClassifyResult,
    FileSource,
    FrameSource,
    InspectOptions,
)
from alexnet_gui.workers.inference_client import InferenceClient

pytestmark = pytest.mark.integration
TIMEOUT = 30_000


@pytest.fixture
def client(qtbot, worker_thread, state_dict_file):
    with qtbot.waitSignals([worker_thread.runtime_reported, worker_thread.model_loaded],
                           timeout=TIMEOUT):
        worker_thread.load_model(state_dict_file, device="cpu")
    return worker_thread


def test_results_arrive_from_the_worker_thread(qtbot, client, chelsea_png):
    seen_in = []
    client.prediction_ready.connect(lambda _r: seen_in.append(threading.current_thread()))
    with qtbot.waitSignal(client.prediction_ready, timeout=TIMEOUT) as blocker:
        request_id = client.submit(FileSource(chelsea_png), topk=5)
    result = blocker.args[0]
    assert result.request_id == request_id and len(result.prediction.scores) == 5
    assert result.model.name == "alexnet-random.pth" and result.prediction.device == "cpu"
    assert seen_in == [threading.main_thread()]  # delivered in the GUI thread


def test_newest_request_wins_and_order_never_goes_back(qtbot, client, chelsea_rgb):
    shown: list[int] = []
    client.prediction_ready.connect(lambda r: shown.append(r.request_id))
    ids = [client.submit(FrameSource(np.roll(chelsea_rgb, i, axis=1), f"f{i}")) for i in range(8)]
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == ids[-1], timeout=TIMEOUT)
    assert shown == sorted(shown) and len(shown) < len(ids)
    assert client.pending.superseded >= 1


def test_inspect_options_travel_with_their_request(qtbot, client, chelsea_rgb):
    results: list[ClassifyResult] = []
    client.prediction_ready.connect(results.append)
    frame = FrameSource(chelsea_rgb, "camera")
    first = client.submit(frame, inspect=InspectOptions(layer="relu2"))
    qtbot.waitUntil(lambda: not client.pending.waiting(), timeout=TIMEOUT)  # taken: computing
    second = client.submit(frame, inspect=InspectOptions(layer="conv3"))  # while it computes
    qtbot.waitUntil(lambda: bool(results) and results[-1].request_id == second, timeout=TIMEOUT)
    layers = {r.request_id: (r.views.options.layer, r.views.network.layer) for r in results}
    assert layers == {first: ("relu2", "relu2"), second: ("conv3", "conv3")}


def test_stale_results_are_dropped(qtbot, qapp):
    client = InferenceClient()  # never started: feed its slot directly
    shown = []
    client.prediction_ready.connect(lambda r: shown.append(r.request_id))
    image = np.zeros((2, 2, 3), np.uint8)
    prediction = Prediction((ClassScore(1, 0, "a", 1.0),), 1.0, "cpu", "m")
    for request_id in (2, 1, 3):
        client._on_worker_prediction_ready(
            ClassifyResult(request_id, "x", None, image, prediction, None))
    assert shown == [2, 3] and client.stale_dropped == 1
    assert client.shutdown(1000)


def test_batch_in_the_background_and_cancel(qtbot, client, photo_folder):
    items: list[BatchItem] = []
    client.batch_item_ready.connect(items.append)
    with qtbot.waitSignal(client.batch_finished, timeout=TIMEOUT) as blocker:
        client.start_batch([photo_folder])
    finished = blocker.args[0]
    assert (finished.total, finished.done, finished.failed) == (5, 5, 1)
    assert len(items) == 5
    # a new batch replaces the old one; events of the old one never reach the GUI
    with qtbot.waitSignal(client.batch_finished, timeout=TIMEOUT) as blocker:
        client.start_batch([photo_folder])
        client.cancel_batch()
    assert blocker.args[0].cancelled


def test_device_switch_inside_the_worker(qtbot, client):
    with qtbot.waitSignal(client.device_changed, timeout=TIMEOUT) as blocker:
        client.set_device("cpu")
    assert blocker.args[0].info.device == "cpu"
    with qtbot.waitSignal(client.device_failed, timeout=TIMEOUT) as blocker:
        client.set_device("cuda")
    assert "CUDA" in blocker.args[0]


def test_shutdown_stops_the_thread(qtbot, qthread_guard, cached_loader):
    client = InferenceClient(loader=cached_loader)
    client.start()
    assert client.thread.isRunning()
    assert client.shutdown(5000)
    assert not client.thread.isRunning()
