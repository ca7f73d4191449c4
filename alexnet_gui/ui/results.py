"""The picture and its top-k: paints each picture, result or failure the workers send back.

An opened still arrives twice: first its picture, decoded off the GUI thread while the model
works (``Session.pictures``), shown at once with its name in the title and a quiet
"classifying…"; then its result, which only adds the top-k to the picture already there. Either
may come first; a picture never replaces its own result, and one for an older request is dropped.

A result for a live stream arrives for a frame a little older than the one on screen; then only
the overlay and the bars change, never the picture (:attr:`ImageView.showing_live`), so the stream
never steps back in time.
"""

from __future__ import annotations

import logging

from PyQt5.QtCore import QObject, pyqtSlot

from alexnet_gui.messages import ClassifyResult, FileSource, PictureReady, RequestFailure
from alexnet_gui.ui.session import Session
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields

log = logging.getLogger(__name__)

CLASSIFYING = "classifying…"
VIEWS_LOADING = "Loading the network for this view…"


class ResultsController(QObject):
    """Connects the main client's answers to the picture, the bars and the status fields."""

    def __init__(self, session: Session, *, view: ImageView, predictions: PredictionsPanel,
                 status: StatusFields) -> None:
        super().__init__(session)
        self._session, self._view = session, view
        self._predictions, self._status = predictions, status
        self._answered = 0  # the newest request whose result or failure is on screen
        self._picture = 0  # the request whose picture is on screen without its result yet
        self._failed = 0  # the newest request whose failure was shown
        session.inference.prediction_ready.connect(self._on_inference_prediction_ready)
        session.inference.request_failed.connect(self._on_inference_request_failed)
        if session.pictures is not None:
            session.pictures.picture_ready.connect(self._on_pictures_picture_ready)
            session.pictures.picture_failed.connect(self._on_pictures_picture_failed)

    @pyqtSlot(object)
    def _on_pictures_picture_ready(self, picture: PictureReady) -> None:
        if picture.request_id != self._session.request_id or picture.request_id <= self._answered:
            return  # a newer request was made, or the result got here first
        log.debug("picture %s shown", picture.name)
        self._picture = picture.request_id
        self._view.show_image(picture.image)
        self._view.set_note(CLASSIFYING)
        self._predictions.set_prediction(None, message="Classifying…")
        self._status.set_prediction(None, 0.0)
        self._session.set_title(picture.name)
        self._session.show_picture(picture)

    @pyqtSlot(object)
    def _on_inference_prediction_ready(self, result: ClassifyResult) -> None:
        prediction = result.prediction
        if not self._view.showing_live:
            log.debug("result for %s: %s", result.name,
                      prediction.top1.label if prediction else result.message)
        self._answered = max(self._answered, result.request_id)
        caption = f"AlexNet · {result.model.name}" if result.model is not None else None
        scores = prediction.scores if prediction else ()
        if self._view.showing_live or self._picture == result.request_id:
            # a newer frame, or this result's own picture, is on screen: change the overlay
            self._view.show_scores(scores, caption=caption)
        else:
            self._view.show_image(result.image, scores, caption=caption)
        if not self._view.showing_live and prediction is not None:
            self._session.image_loaded_fine()
        self._predictions.set_prediction(prediction, message=result.message)
        self._status.set_prediction(prediction, result.decode_ms)
        self._session.set_title(result.name)
        if result.views_pending:
            self._session.post_status(VIEWS_LOADING, 0)
        elif not self._view.showing_live:  # 30 lines a second would hide every other line
            done = f"{result.name}: {prediction.top1.label}" if prediction else result.message
            self._session.post_status(done or "")
        self._session.show_result(result)

    @pyqtSlot(object)
    def _on_pictures_picture_failed(self, failure: RequestFailure) -> None:
        if failure.request_id == self._session.request_id:
            self._show_failure(failure)

    @pyqtSlot(object)
    def _on_inference_request_failed(self, failure: RequestFailure) -> None:
        self._show_failure(failure)

    def _show_failure(self, failure: RequestFailure) -> None:
        if failure.request_id == self._failed:
            return  # the picture loader and the worker both said so: once is enough
        self._failed = failure.request_id
        self._answered = max(self._answered, failure.request_id)
        log.debug("request failed: %s", failure.message)
        self._session.post_message(failure.message)
        if failure.path is None and self._view.showing_live:
            return  # a frame of the stream: keep the stream's picture
        source = self._session.source
        current = source.path if isinstance(source, FileSource) else None
        if failure.path is None or failure.path == current:
            self._session.forget_result()
            self._view.show_text(failure.message)
            self._predictions.set_prediction(None, message="This image could not be read.")
            self._session.set_title(failure.name)
