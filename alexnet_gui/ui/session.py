"""The session: what every feature of the window shares, and nothing that draws.

One object holds the settings and their store, the main inference client, the picture's current
source and the request it made, model loading and the folder dialogs start in. Feature controllers
(browse, live, inside, compare, similar, training) receive it and the widgets they use, never the
window; they talk to each other only through its signals. Qt-only and torch-free, so a controller
can be unit-tested with a session over a fake client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, QSettings, pyqtSignal, pyqtSlot

from alexnet_gui.messages import (
    ClassifyResult,
    FrameSource,
    InspectOptions,
    ModelStatus,
    PictureReady,
    Source,
)
from alexnet_gui.settings import Settings, save_settings

if TYPE_CHECKING:  # handed in by alexnet_gui.app; the UI never imports the workers at run time
    from alexnet_gui.core.results import ModelInfo
    from alexnet_gui.ui.export import ExportPicture
    from alexnet_gui.workers.inference_client import InferenceClient
    from alexnet_gui.workers.jobs import JobRunner
    from alexnet_gui.workers.picture_loader import PictureLoader

STATUS_MS = 5000  # how long a passing status-bar line stays
SAVED_MS = 15_000  # "Saved ... in FOLDER" stays long enough to read the folder
log = logging.getLogger(__name__)


class Session(QObject):
    """Settings, the inference client, the current source and result; signals for the rest.

    Signals:
        result_shown(ClassifyResult): a result is now on screen (painted by the results view).
        picture_shown(PictureReady): an opened still is on screen, before its result.
        image_opened(): the user opened a still image (file, folder, paste, drop); streams stop.
        open_requested(object): a feature asks the browser to open these paths (a list of Path).
        settings_changed(Settings): the settings changed and were saved.
        message_posted(str): something the user should read in the message bar (an error).
        message_cleared(): the problem on the message bar is over (an image loaded fine since).
        status_posted(str, int): a passing line for the status bar, and for how many ms.
        title_changed(str): the name of what is on screen, for the window title ("" for none).
        model_loading(object): a model load was asked for (the weights Path, or None: ImageNet).
        stream_moving_changed(bool): a camera or video started or went on (True), or froze,
            stopped or ended (False): its last frame then stays still like a picture.
        closing(): the app is closing; stop cameras and jobs before the worker stops.
    """

    result_shown = pyqtSignal(object)
    picture_shown = pyqtSignal(object)
    image_opened = pyqtSignal()
    open_requested = pyqtSignal(object)
    settings_changed = pyqtSignal(object)
    message_posted = pyqtSignal(str)
    message_cleared = pyqtSignal()
    status_posted = pyqtSignal(str, int)
    title_changed = pyqtSignal(str)
    model_loading = pyqtSignal(object)
    stream_moving_changed = pyqtSignal(bool)
    closing = pyqtSignal()

    def __init__(self, *, settings: Settings, store: QSettings, inference: InferenceClient,
                 jobs: JobRunner, pictures: PictureLoader | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings, self._store = settings, store
        self.inference, self.jobs = inference, jobs
        #: Decodes opened stills for display while the model works (None: the result shows it).
        self.pictures = pictures
        self.request_id = 0  # the newest request submitted
        self._export_providers: list[Callable[[], Sequence[ExportPicture]]] = []
        self.result: ClassifyResult | None = None
        self.model: ModelInfo | None = None
        self._source: Source | None = None
        self._inspect: InspectOptions | None = None
        self._load_seq = self._source_seq = 0
        self._messages = self._messages_at_submit = 0
        self._closed = False
        self._stream_moving = False
        inference.model_loaded.connect(self._on_inference_model_loaded)
        inference.device_changed.connect(self._on_inference_model_changed)

    # -- settings -----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def update_settings(self, **changes: object) -> None:
        """Change, save and announce the settings."""
        self._settings = self._settings.replace(**changes)
        save_settings(self._settings, self._store)
        self.settings_changed.emit(self._settings)

    def start_dir(self) -> str:
        """Where file dialogs open: the last folder used, else the home folder."""
        folder = self._settings.last_folder
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    # -- talking to the user, through whoever shows it ------------------------------------------

    def post_message(self, text: str) -> None:
        self._messages += 1
        log.debug("message: %s", text)
        self.message_posted.emit(text)

    def image_loaded_fine(self) -> None:
        """A still image was classified: a problem posted before it was asked for is over."""
        if self._messages == self._messages_at_submit:
            self.message_cleared.emit()

    def post_status(self, text: str, ms: int = STATUS_MS) -> None:
        self.status_posted.emit(text, ms)

    def set_title(self, name: str) -> None:
        self.title_changed.emit(name)

    def request_open(self, paths: list[Path]) -> None:
        self.open_requested.emit(list(paths))

    def add_export_pictures(self, provider: Callable[[], Sequence[ExportPicture]]) -> None:
        """Let a panel add what it shows now (an explanation, say) to File > Export Result."""
        self._export_providers.append(provider)

    def export_pictures(self) -> list[ExportPicture]:
        """The panels' pictures of the current result, for File > Export Result."""
        return [picture for provider in self._export_providers for picture in provider()]

    # -- the model ----------------------------------------------------------------------------

    def load_model(self, weights: Path | None, *, engine: str | None = None) -> None:
        """Load ``weights`` (``None``: ImageNet); the current picture is classified again after.

        ``engine`` overrides the chosen engine for this load only: a model taught a second ago
        runs on PyTorch at once, where ``auto`` would first convert and time OpenVINO (seconds).
        """
        self._load_seq += 1
        log.debug("loading the model %s", weights or "ImageNet")
        self.model_loading.emit(weights)
        s = self._settings
        self.inference.load_model(weights, device=s.device, engine=engine or s.engine)

    def is_stale(self, seq: int) -> bool:
        """Whether work started at load ``seq`` predates the newest model load."""
        return seq < self._load_seq

    @property
    def load_seq(self) -> int:
        return self._load_seq

    # -- the picture's requests ---------------------------------------------------------------

    @property
    def stream_moving(self) -> bool:
        """Whether frames are arriving (a stream neither frozen nor stopped)."""
        return self._stream_moving

    def set_stream_moving(self, moving: bool) -> None:
        if moving != self._stream_moving:
            self._stream_moving = moving
            self.stream_moving_changed.emit(moving)

    @property
    def source(self) -> Source | None:
        """What the picture on screen was made from (the last one submitted)."""
        return self._source

    def submit(self, source: Source) -> int:
        """Classify ``source`` (a newer request replaces one still waiting); its request id."""
        self._source, self._source_seq = source, self._load_seq
        self._messages_at_submit = self._messages
        if not isinstance(source, FrameSource):  # frames come 30 times a second
            log.debug("classifying %s", getattr(source, "path", None) or type(source).__name__)
        s = self._settings
        self.request_id = self.inference.submit(source, topk=s.topk, tta=s.tta,
                                                inspect=self._inspect)
        return self.request_id

    def submit_still(self, source: Source) -> int:
        """Open ``source``: its picture is shown as soon as it is decoded, then its result."""
        request_id = self.submit(source)
        if self.pictures is not None:
            self.pictures.load(request_id, source)
        return request_id

    def submit_frame(self, frame: np.ndarray, *, name: str = "camera", bgr: bool = False) -> int:
        """Classify an RGB (or BGR) frame; a newer frame replaces one still waiting."""
        return self.submit(FrameSource(frame, name, bgr))

    def resubmit(self) -> None:
        """Run the current source again (new options, model or settings)."""
        if self._source is not None:
            self.submit(self._source)

    def set_inspect(self, options: InspectOptions | None, *, rerun: bool = True) -> None:
        """Ask for the inside views with ``options`` (``None``: none) from now on.

        ``rerun``: run the current picture again to show them (``False``: a quiet correction,
        such as a layer the new model lacks being replaced in the list).
        """
        self._inspect = options
        if rerun:
            self.resubmit()

    def show_result(self, result: ClassifyResult) -> None:
        """Called by whoever painted ``result``: remember it and tell the other features."""
        self.result = result
        self.result_shown.emit(result)

    def forget_result(self) -> None:
        self.result = None

    def show_picture(self, picture: PictureReady) -> None:
        """Called by whoever painted an opened still before its result."""
        self.result = None  # the previous result is not about this picture
        self.picture_shown.emit(picture)

    # -- shutting down ------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Tell the features (cameras stop first), then stop the jobs and the worker; once."""
        if self._closed:
            return
        self._closed = True
        log.debug("shutting down")
        self.closing.emit()
        if self.pictures is not None:
            self.pictures.shutdown()
        self.inference.shutdown()
        self.jobs.shutdown()
        log.debug("shut down")

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, status: ModelStatus) -> None:
        self.model = status.info
        self.update_settings(last_model=str(status.weights or ""))
        if self._source is not None and self._source_seq < self._load_seq:
            self.resubmit()

    @pyqtSlot(object)
    def _on_inference_model_changed(self, status: ModelStatus) -> None:
        self.model = status.info
        self.resubmit()
