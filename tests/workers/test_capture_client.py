"""CaptureClient: the camera probe off the GUI thread, the lazily made worker, and shutdown."""

from __future__ import annotations

import threading

import pytest

from alexnet_gui.workers.capture_client import CaptureClient
from tests.fixtures.video import FakeCamera

pytestmark = pytest.mark.integration
WAIT_MS = 5000


@pytest.fixture
def make_client():
    clients: list[CaptureClient] = []

    def make(**kwargs) -> CaptureClient:
        client = CaptureClient(**kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        assert client.shutdown(), "a capture or probe thread did not stop"


def test_the_probe_runs_in_a_background_thread(qtbot, make_client):
    calls: list[tuple[tuple[int, ...], bool]] = []

    def probe(in_use: tuple[int, ...]) -> list[int]:
        calls.append((in_use, threading.current_thread() is threading.main_thread()))
        return [2, 0]

    client = make_client(probe=probe)
    assert client.cameras is None
    with qtbot.waitSignal(client.cameras_found, timeout=WAIT_MS) as found:
        client.probe_cameras()
        assert client.is_probing()
        client.probe_cameras()  # one at a time: ignored
    assert found.args[0] == [0, 2] and client.cameras == [0, 2]
    assert calls == [((), False)]
    assert not client.is_probing()


def test_the_streamed_camera_is_not_opened_again_by_the_probe(qtbot, make_client):
    seen: list[tuple[int, ...]] = []
    client = make_client(capture_factory=lambda target, api: FakeCamera(target, api, fps=60),
                         probe=lambda in_use: seen.append(in_use) or list(in_use))
    with qtbot.waitSignal(client.frame_captured, timeout=WAIT_MS):
        client.start(3, loop=False, mirror=False)
    with qtbot.waitSignal(client.cameras_found, timeout=WAIT_MS) as found:
        client.probe_cameras()
    assert seen == [(3,)] and found.args[0] == [3]
    with qtbot.waitSignal(client.stream_finished, timeout=WAIT_MS):
        client.stop()
    assert not client.is_running()


def test_a_failing_probe_finds_no_camera(qtbot, make_client):
    def probe(in_use: tuple[int, ...]) -> list[int]:
        raise RuntimeError("driver exploded")

    client = make_client(probe=probe)
    with qtbot.waitSignal(client.cameras_found, timeout=WAIT_MS) as found:
        client.probe_cameras()
    assert found.args[0] == []


def test_controls_before_any_stream_are_harmless(make_client):
    client = make_client()
    client.set_frozen(True)
    client.set_mirrored(True)
    client.set_looping(True)
    client.stop()
    assert not client.is_running() and not client.is_frozen()
    assert client.latest_frame is None and client.source_info is None
