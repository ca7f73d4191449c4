"""The picture first: an opened still is on screen, titled, with a quiet "classifying…" before
its top-k lands; fakes play the picture loader and the worker (tests/ui/fakes.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PyQt5.QtWidgets import QMainWindow, QStatusBar

from alexnet_gui.messages import FileSource, PictureReady, RequestFailure
from alexnet_gui.ui.actions import Actions
from alexnet_gui.ui.browse.batch_panel import BatchPanel
from alexnet_gui.ui.browse.controller import BrowseController
from alexnet_gui.ui.results import CLASSIFYING, VIEWS_LOADING, ResultsController
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields
from tests.ui.fakes import FakePictures, fake_session
from tests.ui.test_results import result


def make(qtbot, tmp_path: Path):
    pictures = FakePictures()
    session, client = fake_session(tmp_path, pictures=pictures)
    view, predictions, bar = ImageView(), PredictionsPanel(), QStatusBar()
    for widget in (view, predictions, bar):
        qtbot.addWidget(widget)
    ResultsController(session, view=view, predictions=predictions, status=StatusFields(bar))
    titles: list[str] = []
    session.title_changed.connect(titles.append)
    return session, client, pictures, view, titles, (predictions, bar)


def picture(request_id: int, path: Path) -> PictureReady:
    return PictureReady(request_id, path.name, path, np.full((6, 8, 3), 200, np.uint8))


def test_the_picture_shows_titled_and_classifying_before_its_result(qapp, qtbot, tmp_path):
    session, client, pictures, view, titles, _keep = make(qtbot, tmp_path)
    path = tmp_path / "chelsea.png"
    request_id = session.submit_still(FileSource(path))
    assert pictures.loads == [(request_id, FileSource(path))]
    assert client.of("submit")[0][0] == FileSource(path)  # the model still gets the file
    with qtbot.waitSignal(session.picture_shown):
        pictures.picture_ready.emit(picture(request_id, path))
    assert view.has_image and view.note == CLASSIFYING and view.scores == ()
    assert titles == ["chelsea.png"] and session.result is None
    painted = view.grab().toImage()
    assert not painted.isNull()
    repainted: list[object] = []
    view.show_image = lambda *args, **kwargs: repainted.append(args)  # type: ignore[method-assign]
    with qtbot.waitSignal(session.result_shown):
        client.prediction_ready.emit(result(request_id, path, "cat"))
    assert view.scores[0].label == "cat" and view.note is None  # the top-k on the same picture
    assert repainted == []
    assert session.result is not None and titles[-1] == "chelsea.png"


def test_a_result_that_came_first_is_not_covered_by_its_picture(qapp, qtbot, tmp_path):
    session, client, pictures, view, _titles, _keep = make(qtbot, tmp_path)
    path = tmp_path / "a.png"
    request_id = session.submit_still(FileSource(path))
    client.prediction_ready.emit(result(request_id, path, "dog"))
    shown: list[object] = []
    session.picture_shown.connect(shown.append)
    pictures.picture_ready.emit(picture(request_id, path))
    assert shown == [] and view.scores[0].label == "dog" and view.note is None


def test_only_the_newest_opened_picture_is_shown(qapp, qtbot, tmp_path):
    session, _client, pictures, view, titles, _keep = make(qtbot, tmp_path)
    old = session.submit_still(FileSource(tmp_path / "old.png"))
    new = session.submit_still(FileSource(tmp_path / "new.png"))
    pictures.picture_ready.emit(picture(old, tmp_path / "old.png"))
    assert not view.has_image and titles == []
    pictures.picture_ready.emit(picture(new, tmp_path / "new.png"))
    assert titles == ["new.png"]


def test_a_picture_that_cannot_be_decoded_is_said_once(qapp, qtbot, tmp_path):
    session, client, pictures, view, titles, _keep = make(qtbot, tmp_path)
    messages: list[str] = []
    session.message_posted.connect(messages.append)
    path = tmp_path / "broken.jpg"
    request_id = session.submit_still(FileSource(path))
    failure = RequestFailure(request_id, path.name, path, "broken.jpg: the image is damaged")
    pictures.picture_failed.emit(failure)
    client.request_failed.emit(failure)  # the worker finds the same
    assert messages == ["broken.jpg: the image is damaged"]
    assert not view.has_image and titles == ["broken.jpg"]


def test_views_that_wait_for_the_network_say_so(qapp, qtbot, tmp_path):
    session, client, _pictures, _view, _titles, _keep = make(qtbot, tmp_path)
    lines: list[str] = []
    session.status_posted.connect(lambda text, _ms: lines.append(text))
    path = tmp_path / "a.png"
    pending = result(session.submit_still(FileSource(path)), path, "cat")
    client.prediction_ready.emit(dataclasses.replace(pending, views_pending=True))
    assert lines[-1] == VIEWS_LOADING


def test_a_folders_first_image_is_asked_for_before_the_worker_lists_the_folder(
        qapp, qtbot, tmp_path):
    pictures = FakePictures()
    session, client = fake_session(tmp_path, pictures=pictures)
    host, batch = QMainWindow(), BatchPanel()
    qtbot.addWidget(host)
    qtbot.addWidget(batch)
    browse = BrowseController(session, actions=Actions(host), batch=batch, dialog_parent=host)
    folder = tmp_path / "album"
    folder.mkdir()
    for name in ("b.png", "a.png", ".hidden.png", "notes.txt"):
        (folder / name).write_bytes(b"the fakes never read it")
    browse.open_paths([folder])
    assert [source.path.name for _id, source in pictures.loads] == ["a.png"]
    assert client.of("start_batch") == [((folder,), False)]  # the worker lists the folder
    assert [source.path.name for source, *_ in client.of("submit")] == ["a.png"]
