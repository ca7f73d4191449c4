"""A session over a fake inference client: controllers tested without a window, worker or model.

:class:`FakeClient` has the client's signals and records what it is asked; a test plays the
worker's part by emitting the answers itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject, pyqtSignal

from alexnet_gui.settings import Settings, open_store
from alexnet_gui.ui.session import Session


class FakeClient(QObject):
    """The :class:`~alexnet_gui.workers.inference_client.InferenceClient` interface, recorded."""

    runtime_reported = pyqtSignal(object)
    model_loaded = pyqtSignal(object)
    model_failed = pyqtSignal(object)
    model_progress = pyqtSignal(str)
    network_ready = pyqtSignal(object)
    device_changed = pyqtSignal(object)
    device_failed = pyqtSignal(str)
    prediction_ready = pyqtSignal(object)
    request_failed = pyqtSignal(object)
    batch_started = pyqtSignal(object)
    batch_item_ready = pyqtSignal(object)
    batch_finished = pyqtSignal(object)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []
        self.last_id = 0

    def of(self, name: str) -> list[Any]:
        return [args for called, args in self.calls if called == name]

    def start(self) -> None:
        self.calls.append(("start", None))

    def load_model(self, weights: Path | None, *, device: str = "auto",
                   engine: str = "auto") -> None:
        self.calls.append(("load_model", (weights, device, engine)))

    def set_device(self, device: str) -> None:
        self.calls.append(("set_device", device))

    def set_engine(self, engine: str) -> None:
        self.calls.append(("set_engine", engine))

    def submit(self, source: Any, *, topk: int = 5, tta: bool = False,
               inspect: Any = None) -> int:
        self.last_id += 1
        self.calls.append(("submit", (source, topk, tta, inspect)))
        return self.last_id

    def start_batch(self, paths: Any, *, tta: bool = False) -> int:
        self.calls.append(("start_batch", (tuple(paths), tta)))
        return len(self.of("start_batch"))

    def cancel_batch(self) -> None:
        self.calls.append(("cancel_batch", None))

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.calls.append(("shutdown", timeout_ms))
        return True


class FakePictures(QObject):
    """The :class:`~alexnet_gui.workers.picture_loader.PictureLoader` interface, recorded."""

    picture_ready = pyqtSignal(object)
    picture_failed = pyqtSignal(object)

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[int, Any]] = []
        self.stopped = 0

    def load(self, request_id: int, source: Any) -> None:
        self.loads.append((request_id, source))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        self.stopped += 1
        return True


class FakeJobs:
    """The job runner's interface: nothing runs."""

    def __init__(self) -> None:
        self.started: list[Any] = []
        self.stopped = 0

    def start(self, job: Any) -> Any:
        self.started.append(job)
        return job

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        self.stopped += 1
        return True


def fake_session(tmp_path: Path, settings: Settings | None = None, *,
                 pictures: FakePictures | None = None) -> tuple[Session, FakeClient]:
    """A real Session (settings in ``tmp_path``) over a :class:`FakeClient` (and, if given,
    :class:`FakePictures` decoding the opened stills)."""
    client = FakeClient()
    session = Session(settings=settings or Settings(), store=open_store(tmp_path / "s.ini"),
                      inference=client, jobs=FakeJobs(), pictures=pictures)
    return session, client
