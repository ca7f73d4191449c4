"""The results view over a fake session: what a result or a failure changes on screen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5.QtWidgets import QStatusBar

from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction
from alexnet_gui.messages import ClassifyResult, FileSource, RequestFailure
from alexnet_gui.ui.results import ResultsController
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields
from tests.ui.fakes import fake_session

INFO = ModelInfo(name="m", arch="torchvision", num_classes=2, source="x", input_size=224,
                 device="cpu", categories=("cat", "dog"))


def result(request_id: int, path: Path | None, top: str) -> ClassifyResult:
    scores = (ClassScore(1, 0, top, 0.9), ClassScore(2, 1, "other", 0.1))
    prediction = Prediction(scores, 5.0, "cpu", "m")
    image = np.full((6, 8, 3), request_id, np.uint8)
    return ClassifyResult(request_id, path.name if path else "camera", path, image, prediction,
                          INFO)


def make_results(qtbot, tmp_path: Path):
    session, client = fake_session(tmp_path)
    view, predictions, bar = ImageView(), PredictionsPanel(), QStatusBar()
    for widget in (view, predictions, bar):
        qtbot.addWidget(widget)
    ResultsController(session, view=view, predictions=predictions, status=StatusFields(bar))
    return session, client, view, (predictions, bar)  # the caller keeps the widgets alive


def test_a_still_result_is_painted_and_shared(qapp, qtbot, tmp_path: Path) -> None:
    session, client, view, _widgets = make_results(qtbot, tmp_path)
    titles: list[str] = []
    session.title_changed.connect(titles.append)
    with qtbot.waitSignal(session.result_shown):
        client.prediction_ready.emit(result(1, tmp_path / "a.png", "cat"))
    assert view.has_image and view.scores[0].label == "cat" and not view.showing_live
    assert titles == ["a.png"] and session.result is not None


def test_a_live_frame_keeps_its_picture_and_gets_the_newest_scores(
    qapp, qtbot, tmp_path: Path
) -> None:
    session, client, view, _widgets = make_results(qtbot, tmp_path)
    view.show_live_frame(np.zeros((6, 8, 3), np.uint8))
    pictures: list[object] = []
    view.show_image = lambda *args, **kwargs: pictures.append(args)  # type: ignore[method-assign]
    client.prediction_ready.emit(result(2, None, "dog"))
    assert pictures == [] and view.scores[0].label == "dog" and view.showing_live
    session.submit(FileSource(tmp_path / "a.png"))
    view.leave_live()  # a still was opened: a failure is about it
    client.request_failed.emit(RequestFailure(3, "a.png", tmp_path / "a.png", "a.png: damaged"))
    assert not view.has_image and session.result is None
