"""The session on its own, over a fake client: requests, re-runs after a load, shutdown."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alexnet_gui.core.results import ModelInfo
from alexnet_gui.messages import FileSource, FrameSource, InspectOptions, ModelStatus
from alexnet_gui.settings import Settings, load_settings, open_store
from tests.ui.fakes import fake_session

INFO = ModelInfo(name="m", arch="torchvision", num_classes=3, source="x", input_size=224,
                 device="cpu", categories=("a", "b", "c"))


def test_requests_carry_the_settings_and_the_inspect_options(qapp, tmp_path: Path) -> None:
    session, client = fake_session(tmp_path, Settings(topk=3, tta=True))
    session.submit(FileSource(tmp_path / "a.png"))
    options = InspectOptions(layer="conv2")
    session.set_inspect(options)  # re-runs the picture with views
    session.set_inspect(None, rerun=False)  # a quiet change: nothing is re-run
    frame = np.zeros((4, 4, 3), np.uint8)
    request_id = session.submit_frame(frame, name="camera")
    sources = [args[0] for args in client.of("submit")]
    assert [args[1:] for args in client.of("submit")] == [(3, True, None), (3, True, options),
                                                         (3, True, None)]
    assert sources[0] == sources[1] == FileSource(tmp_path / "a.png")
    assert isinstance(sources[2], FrameSource) and request_id == 3
    assert session.source is sources[2]


def test_a_model_loaded_after_a_request_runs_it_again_once(qapp, qtbot, tmp_path: Path) -> None:
    session, client = fake_session(tmp_path)
    session.submit(FileSource(tmp_path / "a.png"))
    with qtbot.waitSignal(session.model_loading) as loading:
        session.load_model(tmp_path / "w.pth")
    assert loading.args == [tmp_path / "w.pth"]
    assert client.of("load_model") == [(tmp_path / "w.pth", "auto", "auto")]
    client.model_loaded.emit(ModelStatus(INFO, tmp_path / "w.pth"))
    client.model_loaded.emit(ModelStatus(INFO, tmp_path / "w.pth"))  # e.g. a second answer
    assert len(client.of("submit")) == 2  # the first request and one re-run
    assert session.model == INFO
    stored = load_settings(open_store(tmp_path / "s.ini"))
    assert stored.last_model == str(tmp_path / "w.pth")


def test_settings_are_saved_and_announced(qapp, qtbot, tmp_path: Path) -> None:
    session, _client = fake_session(tmp_path)
    with qtbot.waitSignal(session.settings_changed) as changed:
        session.update_settings(topk=7)
    assert changed.args[0].topk == 7 == load_settings(open_store(tmp_path / "s.ini")).topk
    assert session.start_dir() == str(Path.home())  # no last folder yet
    session.update_settings(last_folder=str(tmp_path))
    assert session.start_dir() == str(tmp_path)


def test_shutdown_tells_the_features_first_and_happens_once(qapp, tmp_path: Path) -> None:
    session, client = fake_session(tmp_path)
    order: list[str] = []
    session.closing.connect(lambda: order.append(f"closing, {len(client.of('shutdown'))} stops"))
    session.shutdown()
    session.shutdown()
    assert order == ["closing, 0 stops"]
    assert len(client.of("shutdown")) == 1 and session.jobs.stopped == 1
