"""The picture and its top-k: paints each result or failure the main worker sends back.

A result for a live stream arrives for a frame a little older than the one on screen; then only
the overlay and the bars change, never the picture (:attr:`ImageView.showing_live`), so the stream
never steps back in time.
"""

from __future__ import annotations

import logging

from PyQt5.QtCore import QObject, pyqtSlot

from alexnet_gui.messages import ClassifyResult, FileSource, RequestFailure
from alexnet_gui.ui.session import Session
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields

log = logging.getLogger(__name__)


class ResultsController(QObject):
    """Connects the main client's answers to the picture, the bars and the status fields."""

    def __init__(self, session: Session, *, view: ImageView, predictions: PredictionsPanel,
                 status: StatusFields) -> None:
        super().__init__(session)
        self._session, self._view = session, view
        self._predictions, self._status = predictions, status
        session.inference.prediction_ready.connect(self._on_inference_prediction_ready)
        session.inference.request_failed.connect(self._on_inference_request_failed)

    @pyqtSlot(object)
    def _on_inference_prediction_ready(self, result: ClassifyResult) -> None:
        prediction = result.prediction
        if not self._view.showing_live:
            log.debug("result for %s: %s", result.name,
                      prediction.top1.label if prediction else result.message)
        caption = f"AlexNet · {result.model.name}" if result.model is not None else None
        scores = prediction.scores if prediction else ()
        if self._view.showing_live:  # a newer frame is on screen: keep it, change the overlay
            self._view.show_scores(scores, caption=caption)
        else:
            self._view.show_image(result.image, scores, caption=caption)
            if prediction is not None:
                self._session.image_loaded_fine()
        self._predictions.set_prediction(prediction, message=result.message)
        self._status.set_prediction(prediction, result.decode_ms)
        self._session.set_title(result.name)
        if not self._view.showing_live:  # 30 lines a second would hide every other status line
            done = f"{result.name}: {prediction.top1.label}" if prediction else result.message
            self._session.post_status(done or "")
        self._session.show_result(result)

    @pyqtSlot(object)
    def _on_inference_request_failed(self, failure: RequestFailure) -> None:
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
