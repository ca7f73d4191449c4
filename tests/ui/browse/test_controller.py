"""The browse controller over a fake session: no window, no worker, no model."""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtWidgets import QMainWindow

from alexnet_gui.messages import BatchFinished, BatchStarted, FileSource
from alexnet_gui.ui.actions import Actions
from alexnet_gui.ui.browse.batch_panel import BatchPanel
from alexnet_gui.ui.browse.controller import BrowseController
from tests.ui.fakes import fake_session


def make_browser(qtbot, tmp_path: Path):
    session, client = fake_session(tmp_path)
    host = QMainWindow()  # only a parent for the actions and dialogs, not the app's window
    qtbot.addWidget(host)
    actions, batch = Actions(host), BatchPanel()
    qtbot.addWidget(batch)
    browse = BrowseController(session, actions=actions, batch=batch, dialog_parent=host)
    return browse, session, client, actions, batch


def test_opening_a_file_shows_it_and_lists_it_for_the_table(qapp, qtbot, tmp_path: Path) -> None:
    browse, session, client, actions, _batch = make_browser(qtbot, tmp_path)
    photo = tmp_path / "a.png"
    photo.write_bytes(b"not needed: the fake worker never reads it")
    with qtbot.waitSignal(session.image_opened):
        browse.open_paths([photo])
    assert [args[0] for args in client.of("submit")] == [FileSource(photo)]
    assert client.of("start_batch") == [((photo,), False)]
    assert session.settings.recent_files[0] == str(photo)
    assert session.settings.last_folder == str(tmp_path)
    recent = [action.text() for action in actions.menus["recent"].actions()]
    assert recent[0] == str(photo)  # the menu follows the settings


def test_a_folder_shows_its_first_image_when_listed_and_the_keys_browse(
    qapp, qtbot, tmp_path: Path
) -> None:
    browse, _session, client, actions, batch = make_browser(qtbot, tmp_path)
    paths = (tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png")
    browse.open_paths([tmp_path])
    assert client.of("submit") == []  # a folder: nothing to show until the worker lists it
    client.batch_started.emit(BatchStarted(1, paths))
    actions.next.trigger()
    actions.last.trigger()
    actions.previous.trigger()
    shown = [args[0].path for args in client.of("submit")]
    assert shown == [paths[0], paths[1], paths[2], paths[1]]
    assert batch.table.rowCount() == 3 and batch.table.currentRow() == 1


def test_an_empty_folder_says_so(qapp, qtbot, tmp_path: Path) -> None:
    browse, session, client, _actions, _batch = make_browser(qtbot, tmp_path)
    with qtbot.waitSignal(session.message_posted) as posted:
        browse.open_paths([tmp_path])
        client.batch_started.emit(BatchStarted(1, ()))
        client.batch_finished.emit(BatchFinished(1, 0, 0))
    assert posted.args == ["No images found in what was opened."]


def test_left_right_browse_the_folder_of_a_single_file(qapp, qtbot, tmp_path: Path) -> None:
    browse, _session, client, actions, _batch = make_browser(qtbot, tmp_path)
    for name in ("a.png", "b.jpg", "c.png", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")
    browse.open_paths([tmp_path / "b.jpg"])
    actions.next.trigger()
    actions.previous.trigger()
    actions.previous.trigger()
    shown = [args[0].path.name for args in client.of("submit")]
    assert shown == ["b.jpg", "c.png", "b.jpg", "a.png"]
    folder = (tmp_path / "a.png", tmp_path / "b.jpg", tmp_path / "c.png")
    assert client.of("start_batch")[-1] == (folder, False)  # the table lists the folder
