"""The whole Teach loop in the real main window, with video files as the camera.

Two clips of real photos (crops of skimage's chelsea and coffee, panning as a hand-held camera
would) play in turn; a class is recorded from each by holding its button, Train fits a head on
the He-initialised fixed-seed AlexNet's fc7 features (no ImageNet weights in tests), and the live
view then classifies the first clip with the taught model: its top-1 is the class recorded from
it. Real threads throughout: capture, inference and the Teach worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from skimage import data

from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec, read_weights_file
from alexnet_gui.core.training import teach_project
from alexnet_gui.ui import dialogs
from alexnet_gui.workers import teach_worker
from tests.fixtures.images import camera_crops
from tests.fixtures.trained import he_initialised_model
from tests.fixtures.video import write_clip
from tests.ui.helpers import TIMEOUT

pytestmark = pytest.mark.integration


def photo_clip(path: Path, photo: np.ndarray, frames: int = 24, seed: int = 0) -> Path:
    """160x120 frames, each a random square crop of ``photo`` shrunk: a camera moving over it."""
    from PIL import Image

    out = [np.asarray(Image.fromarray(crop).resize((160, 120)))
           for crop in camera_crops(photo, frames, seed)]
    return write_clip(path, out)


@pytest.fixture(scope="module")
def he_base() -> LoadedModel:
    return LoadedModel(he_initialised_model(1000), imagenet_spec())


def play(qtbot, gui, monkeypatch, video: Path) -> None:
    monkeypatch.setattr(dialogs, "open_video", lambda parent, directory: video)
    if not gui.live.actions.loop.isChecked():
        gui.live.actions.loop.trigger()
    gui.live.actions.open_video.trigger()
    qtbot.waitUntil(lambda: gui.session.stream_moving, timeout=TIMEOUT)


def record(qtbot, gui, name: str, count: int) -> None:
    """Hold the class's record button until ``count`` examples are in its thumbnails."""
    section = gui.teach.panel.sections[name]
    before = section.grid.count()
    qtbot.mousePress(section.record, Qt.LeftButton)
    qtbot.waitUntil(lambda: section.grid.count() >= before + count, timeout=TIMEOUT)
    qtbot.mouseRelease(section.record, Qt.LeftButton)
    assert gui.teach.recording is None


def test_a_person_can_teach_two_classes_from_video_and_see_them_live(
        qtbot, gui, monkeypatch, tmp_path, he_base):
    monkeypatch.setattr(teach_worker, "load_imagenet", lambda: he_base)
    cat = photo_clip(tmp_path / "cat.avi", data.chelsea(), seed=1)
    coffee = photo_clip(tmp_path / "coffee.avi", data.coffee(), seed=2)
    teach = gui.teach
    project = tmp_path / "my-classes"
    names = iter(["cat", "coffee"])
    monkeypatch.setattr(teach.dialogs, "new_project", lambda start: project)
    monkeypatch.setattr(teach.dialogs, "class_name", lambda title, text="": next(names))

    teach.action.trigger()  # Model > Teach...
    assert teach.dock.isVisible()
    teach.panel.new_button.click()
    qtbot.waitUntil(lambda: "empty project" in teach.panel.status.text(), timeout=TIMEOUT)
    teach.panel.add_class_button.click()
    teach.panel.add_class_button.click()
    assert sorted(teach.panel.sections) == ["cat", "coffee"]
    teach.panel.rate.setValue(30)

    teach.panel.sections["cat"].record.pressed.emit()  # nothing plays yet: says what to do
    assert "Start the camera" in teach.panel.status.text() and teach.recording is None

    play(qtbot, gui, monkeypatch, cat)
    record(qtbot, gui, "cat", 12)
    play(qtbot, gui, monkeypatch, coffee)
    record(qtbot, gui, "coffee", 12)
    files = teach_project.open_project(project)
    assert {k: len(v) >= 12 for k, v in files.items()} == {"cat": True, "coffee": True}
    assert all(p.suffix == ".jpg" for v in files.values() for p in v)

    messages: list[str] = []
    gui.session.message_posted.connect(messages.append)
    with qtbot.waitSignal(teach.client.trained, timeout=60_000) as trained:
        teach.panel.train_button.click()
    try:
        qtbot.waitUntil(lambda: gui.session.model is not None
                        and gui.session.model.categories == ("cat", "coffee"), timeout=60_000)
    finally:
        assert messages == [], messages
    result = trained.args[0]
    assert result.classes == ("cat", "coffee") and result.evaluated_on == "held-out"
    assert "held-out" in teach.panel.status.text()
    assert gui.session.model.categories == ("cat", "coffee")
    assert read_weights_file(project / "model.pt")["format"] == "alexnet-gui-checkpoint"

    play(qtbot, gui, monkeypatch, cat)
    qtbot.waitUntil(lambda: gui.session.result is not None
                    and gui.session.result.prediction is not None
                    and gui.session.result.model.categories == ("cat", "coffee"),
                    timeout=TIMEOUT)
    tops = []
    for _ in range(3):  # three results of the cat clip, each the taught model's own answer
        shown = gui.session.result
        qtbot.waitUntil(lambda s=shown: gui.session.result is not s, timeout=TIMEOUT)
        tops.append(gui.session.result.prediction.top1.label)
    assert tops == ["cat"] * 3
    gui.live.stop()
