"""The real main window against hostile drops, weights and videos: messages, never dialogs.

Each test runs the real inference and capture threads (and fails if one is left running); every
modal dialog is replaced by one that fails the test, because a hundred bad files must make one
message strip, not a hundred dialogs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt5.QtWidgets import QApplication, QDialog, QMessageBox

from alexnet_gui.ui import dialogs
from alexnet_gui.workers.capture_client import CaptureClient
from tests.fixtures.hostile import Corpus, HostileCheckpoint
from tests.ui.helpers import TIMEOUT, drop, url_mime, wait_result

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("qthread_guard")]


@pytest.fixture
def modal_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every modal dialog the app tries to run; a test asserts the list stays empty."""
    opened: list[str] = []

    def refuse(self, *_args: object) -> int:
        opened.append(type(self).__name__)
        return 0

    for cls in (QDialog, QMessageBox):
        monkeypatch.setattr(cls, "exec_", refuse)
        monkeypatch.setattr(cls, "exec", refuse)
    for name in ("critical", "warning", "information", "question", "about"):
        monkeypatch.setattr(QMessageBox, name,
                            staticmethod(lambda *_a, name=name: opened.append(name) or 0))
    return opened


def visible_dialogs() -> list[str]:
    return [type(w).__name__ for w in QApplication.topLevelWidgets()
            if isinstance(w, QDialog) and w.isVisible()]


def assert_window_still_works(qtbot, gui, image: Path) -> None:
    assert gui.window.isVisible() and gui.session.inference.thread.isRunning()
    result = wait_result(qtbot, gui, lambda: gui.browse.open_paths([image]), name=image.name)
    assert result.model.name == "alexnet-random.pth"


def test_dropping_the_whole_hostile_corpus(qtbot, gui, hostile_drop: Corpus,
                                           modal_dialogs, chelsea_png) -> None:
    """A hundred-odd files, copies and oddities included: all listed, the good ones classified,
    one message per bad file in the strip, no dialog."""
    gui = gui
    total = len(hostile_drop.good) + len(hostile_drop.bad)
    assert total >= 100
    with qtbot.waitSignal(gui.session.inference.batch_finished, timeout=120_000) as finished:
        assert drop(gui, url_mime(hostile_drop.dropped))
    summary = finished.args[0]
    assert (summary.total, summary.done, summary.failed) == (total, total, len(hostile_drop.bad))
    rows = {Path(row[0]): row for row in gui.window.batch.csv_rows()[1:]}
    assert sorted(rows) == sorted(hostile_drop.good + hostile_drop.bad)
    for path in hostile_drop.good:
        assert rows[path][1] and not rows[path][5], rows[path]
    for path in hostile_drop.bad:
        assert not rows[path][1] and rows[path][5] and "\n" not in rows[path][5], rows[path]
    # the first, a good one
    qtbot.waitUntil(lambda: gui.session.result is not None, timeout=TIMEOUT)
    history = gui.window.messages.history
    assert len(history) == len(hostile_drop.bad)  # one line per bad file, a click away
    assert not any("Unexpected" in line for line in history)
    assert modal_dialogs == [] and visible_dialogs() == []
    assert_window_still_works(qtbot, gui, chelsea_png)


def test_hostile_weights_from_the_model_menu_keep_the_current_model(
    qtbot, gui, monkeypatch, hostile_checkpoints: tuple[list[HostileCheckpoint], Path],
    modal_dialogs, chelsea_png, state_dict_file,
) -> None:
    checkpoints, marker = hostile_checkpoints
    gui = gui
    before = gui.window.status.model.text()
    for checkpoint in checkpoints:
        monkeypatch.setattr(dialogs, "open_weights", lambda *_a, path=checkpoint.path: path)
        with qtbot.waitSignal(gui.session.inference.model_failed, timeout=TIMEOUT) as failed:
            gui.window.actions_.open_weights.trigger()
        message = failed.args[0].message
        assert checkpoint.expect in message and "\n" not in message, message
        assert gui.window.messages.text.startswith(message)
        assert gui.window.status.model.text() == before, checkpoint.path.name
    assert not marker.exists(), "a checkpoint ran code"
    assert gui.session.settings.last_model == str(state_dict_file)
    assert gui.models.download_dialog is None
    assert modal_dialogs == [] and visible_dialogs() == []
    assert_window_still_works(qtbot, gui, chelsea_png)


@pytest.fixture
def video_window(qtbot, make_gui, state_dict_file):
    """A started window whose camera probe finds nothing (videos only)."""
    capture = CaptureClient(probe=lambda in_use: [])
    gui = make_gui(capture=capture)
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT),\
            qtbot.waitSignal(capture.cameras_found, timeout=TIMEOUT):
        gui.start(weights=str(state_dict_file))
    return gui, capture


def test_videos_that_cannot_play_give_a_message_and_start_nothing(
    qtbot, video_window, monkeypatch, hostile_videos: list[Path], video_file, modal_dialogs,
    chelsea_png,
) -> None:
    gui, capture = video_window
    started: list[object] = []
    capture.stream_started.connect(started.append)
    for video in hostile_videos:
        monkeypatch.setattr(dialogs, "open_video", lambda *_a, path=video: path)
        with qtbot.waitSignal(capture.stream_failed, timeout=TIMEOUT) as failed:
            gui.live.actions.open_video.trigger()
        message = failed.args[0]
        assert message.startswith(video.name) and "\n" not in message, message
        assert gui.window.messages.text.startswith(message)
        assert not capture.is_running() and not gui.live.actions.stop.isEnabled()
    assert started == [] and not gui.live.showing
    assert modal_dialogs == [] and visible_dialogs() == []
    monkeypatch.setattr(dialogs, "open_video", lambda *_a: video_file)
    with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT):
        gui.live.actions.open_video.trigger()  # a good video still plays afterwards
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        gui.live.actions.stop.trigger()
    assert_window_still_works(qtbot, gui, chelsea_png)


def test_a_video_damaged_halfway_stops_with_a_message(qtbot, video_window, monkeypatch,
                                                      half_video_file, modal_dialogs) -> None:
    gui, capture = video_window
    monkeypatch.setattr(dialogs, "open_video", lambda *_a: half_video_file)
    if gui.live.actions.loop.isChecked():
        gui.live.actions.loop.trigger()
    with qtbot.waitSignal(capture.stream_failed, timeout=TIMEOUT) as failed:
        gui.live.actions.open_video.trigger()
    assert failed.args[0].startswith("half.avi: the video is damaged after frame")
    assert gui.live.meter.counters.frames_shown >= 1 and gui.window.view.has_image
    assert gui.window.messages.text.startswith(failed.args[0])
    assert modal_dialogs == [] and visible_dialogs() == []
