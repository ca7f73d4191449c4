"""The Teach panel and controller over a fake Teach client and a fake session: classes on disk,
recording at the set rate, thumbnails, deletion, reopening, Train to a loaded model, the
download offer. The real worker and threads are in tests/workers/test_teach_worker.py and the
whole loop in the real window in test_teach_loop.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtWidgets import QDockWidget, QMainWindow, QMenu

from alexnet_gui.core.results import ModelInfo
from alexnet_gui.core.training import teach_project
from alexnet_gui.messages import ModelStatus, TeachExample, TeachTrained
from alexnet_gui.ui.teach import controller as teach_controller
from alexnet_gui.ui.teach.controller import TeachController
from alexnet_gui.ui.teach.panel import WHY_IMAGENET, TeachPanel
from tests.ui.fakes import fake_session

THUMB = np.full((36, 48, 3), 200, np.uint8)


class FakeTeachClient(QObject):
    """The TeachClient interface, recorded; a test emits the worker's answers."""

    project_opened = pyqtSignal(object, object)
    example_added = pyqtSignal(object)
    progressed = pyqtSignal(int, int)
    trained = pyqtSignal(object)
    weights_missing = pyqtSignal(str)
    failed = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def of(self, name: str) -> list[Any]:
        return [args for called, args in self.calls if called == name]

    def __getattr__(self, name: str) -> Any:
        if name in {"open_project", "add_frame", "add_files", "forget", "train", "flush",
                    "cancel_training", "reload_base", "check_base", "shutdown"}:
            return lambda *args: self.calls.append((name, args))
        raise AttributeError(name)


class Frames(QObject):
    shown = pyqtSignal(object)


def make_controller(qtbot, session) -> tuple[TeachController, FakeTeachClient, Frames, list[str]]:
    window = QMainWindow()
    qtbot.addWidget(window)
    panel, client, frames = TeachPanel(), FakeTeachClient(), Frames()
    dock = QDockWidget("Teach", window)
    dock.setWidget(panel)
    offers: list[str] = []
    controller = TeachController(session, panel=panel, dock=dock, menu=QMenu(window),
                                 client=client, frames=frames.shown, dialog_parent=window,
                                 offer_download=offers.append)
    return controller, client, frames, offers


@pytest.fixture
def setup(qtbot, tmp_path: Path):
    session, inference = fake_session(tmp_path)
    controller, client, frames, offers = make_controller(qtbot, session)
    root = tmp_path / "project"
    controller.open_project(root)
    client.project_opened.emit(root, ())
    return controller, client, frames, session, inference, root, offers


def example(root: Path, name: str) -> TeachExample:
    path = teach_project.save_frame(root, name, np.zeros((8, 8, 3), np.uint8))
    return TeachExample(name, path, THUMB)


def test_add_rename_and_remove_classes(setup, monkeypatch):
    controller, client, _, _, _, root, _ = setup
    controller.add_class("thumbs up")
    controller.add_class("fist")
    assert teach_project.list_classes(root) == ["fist", "thumbs up"]
    assert list(controller.panel.sections) == ["thumbs up", "fist"]
    controller.add_class("FIST")
    assert "already a class" in controller.panel.status.text()

    controller.rename_class("fist", "rock")
    assert teach_project.list_classes(root) == ["rock", "thumbs up"]
    assert client.of("open_project")[-1] == (root,)  # the worker rereads the paths

    client.project_opened.emit(root, (example(root, "rock"),))  # the worker's answer
    assert list(controller.panel.sections) == ["rock", "thumbs up"]
    questions: list[str] = []
    monkeypatch.setattr(controller.dialogs, "confirm",
                        lambda question: questions.append(question) or False)
    controller.panel.sections["rock"].remove_action.trigger()
    assert (root / "rock").is_dir() and "delete its 1 examples" in questions[0]
    monkeypatch.setattr(controller.dialogs, "confirm", lambda question: True)
    controller.panel.sections["rock"].remove_action.trigger()
    assert teach_project.list_classes(root) == ["thumbs up"]
    assert "rock" not in controller.panel.sections


def test_recording_keeps_frames_at_the_set_rate_and_shows_thumbnails(setup, monkeypatch):
    controller, client, frames, session, _, root, _ = setup
    controller.add_class("a")
    section = controller.panel.sections["a"]
    section.record.pressed.emit()
    assert controller.recording is None and "Start the camera" in controller.panel.status.text()

    clock = iter([10.0, 10.05, 10.1, 10.25, 10.3, 10.5])
    monkeypatch.setattr(teach_controller.time, "monotonic", lambda: next(clock))
    frame = np.zeros((120, 160, 3), np.uint8)
    frames.shown.emit(frame)  # a source plays
    session.set_stream_moving(True)
    controller.panel.rate.setValue(5)  # one frame every 0.2 s
    section.record.pressed.emit()
    assert controller.recording == "a" and section.record.text() == "Recording…"
    for _ in range(6):
        frames.shown.emit(frame)  # at 10.0, 10.05, 10.1, 10.25, 10.3, 10.5: 3 kept
    section.record.released.emit()
    assert [args[0] for args in client.of("add_frame")] == ["a"] * 3
    assert client.of("flush") == [()]
    frames.shown.emit(frame)
    assert len(client.of("add_frame")) == 3  # not recording any more

    for _ in range(3):
        client.example_added.emit(example(root, "a"))
    assert section.grid.count() == 3 and "3 examples" in section.title.text()
    assert not section.grid.item(0).icon().isNull()


def test_deleting_an_example_removes_its_file_and_thumbnail(setup):
    controller, client, _, _, _, root, _ = setup
    controller.add_class("a")
    kept, gone = example(root, "a"), example(root, "a")
    for e in (kept, gone):
        client.example_added.emit(e)
    section = controller.panel.sections["a"]
    section.grid.item(1).setSelected(True)
    section.delete_action.trigger()
    assert not gone.path.exists() and kept.path.exists()
    assert section.examples() == [kept.path]
    assert client.of("forget") == [(gone.path,)]


def test_a_reopened_project_shows_its_classes_and_examples(setup):
    controller, client, _, _, _, root, _ = setup
    for name in ("b", "a"):
        teach_project.add_class(root, name)
    examples = (example(root, "a"), example(root, "b"), example(root, "b"))
    controller.open_project(root)
    client.project_opened.emit(root, examples)
    panel = controller.panel
    assert list(panel.sections) == ["a", "b"]
    assert panel.sections["b"].grid.count() == 2
    assert "2 classes, 3 examples" in panel.status.text()


def test_train_shows_progress_then_loads_the_taught_model_with_pytorch(setup):
    controller, client, _, session, inference, root, _ = setup
    panel = controller.panel
    panel.train_button.click()
    assert client.of("train") == [()]
    assert panel.train_button.isHidden() and not panel.cancel_button.isHidden()
    panel.cancel_button.click()
    assert client.of("cancel_training") == [()]
    client.progressed.emit(150, 600)
    assert not panel.progress.isHidden() and panel.progress.value() == 150
    seq = session.load_seq
    model = root / "model.pt"
    root.mkdir()
    model.write_bytes(b"checkpoint")
    client.trained.emit(TeachTrained(model, ("a", "b"), 30, 1.0, 0.9, 6, "held-out", 0.4))
    assert "90% right on 6 held-out examples" in panel.status.text()
    assert inference.of("load_model") == [(model, "auto", "pytorch")]
    assert session.load_seq == seq + 1  # through the session: older work is now stale
    assert not panel.train_button.isHidden() and panel.cancel_button.isHidden()
    assert panel.train_button.isEnabled() and panel.save_button.isEnabled()
    info = ModelInfo(name="project", arch="torchvision", num_classes=2, source=str(model),
                     input_size=224, device="CPU", categories=("a", "b"))
    inference.model_loaded.emit(ModelStatus(info, model))
    assert session.model == info


def test_save_model_writes_the_checkpoint_where_asked(setup, monkeypatch, tmp_path):
    controller, _, _, _, _, root, _ = setup
    root.mkdir()
    (root / "model.pt").write_bytes(b"checkpoint bytes")
    dest = tmp_path / "out" / "mine.pt"
    dest.parent.mkdir()
    monkeypatch.setattr(controller.dialogs, "save_model", lambda suggested: dest)
    controller.panel.save_button.setEnabled(True)
    controller.panel.save_button.click()
    assert dest.read_bytes() == b"checkpoint bytes"


def test_missing_weights_offer_the_download_and_say_why(setup):
    controller, client, _, _, inference, _, offers = setup
    panel = controller.panel
    assert panel.download_button.isHidden()
    controller.action.trigger()
    assert client.of("check_base") == [()]  # the worker looks for the weights at once
    client.weights_missing.emit("ImageNet weights not found.")
    assert not panel.weights_note.isHidden() and panel.weights_note.text() == WHY_IMAGENET
    assert "few examples" in WHY_IMAGENET
    panel.download_button.click()
    assert offers == ["ImageNet weights not found."]
    info = ModelInfo(name="ImageNet", arch="torchvision", num_classes=1000, source="x",
                     input_size=224, device="CPU", categories=("c",) * 1000)
    inference.model_loaded.emit(ModelStatus(info, None))  # the download finished and loaded
    assert client.of("reload_base") == [()] and panel.download_button.isHidden()


def test_the_last_project_is_reopened_next_time(qtbot, tmp_path: Path):
    session, _ = fake_session(tmp_path)
    first, client, _, _ = make_controller(qtbot, session)
    root = tmp_path / "hands"
    root.mkdir()
    first.open_project(root)
    client.project_opened.emit(root, ())
    assert session.settings.teach_project == str(root)
    again, client2, _, _ = make_controller(qtbot, session)  # the next run, same settings
    again.action.trigger()
    assert client2.of("open_project") == [(root,)] and again.root == root
