"""Live sources in the window: a camera or a video file, each frame shown under the latest result.

The capture worker reads in its own thread and hands over only the newest frame. Each frame is
painted at once and submitted to the inference worker, where it replaces any frame still waiting
(newest wins), so neither thread builds a backlog. A result arrives for some frame a little
older than the one on screen: the window then changes only the overlay and the bars, never the
picture (:attr:`LiveController.showing`), so the stream never steps back in time.

Latency is measured from a frame's capture (``CapturedFrame.timestamp``) to the end of the first
paint that shows its result.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QAction, QWidget

from alexnet_gui.messages import ClassifyResult
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.export import ExportError
from alexnet_gui.ui.live.actions import LiveActions
from alexnet_gui.ui.live.meter import LiveMeter
from alexnet_gui.ui.live.snapshot import SnapshotFrame, save_snapshot
from alexnet_gui.ui.session import SAVED_MS, Session
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.predictions import PredictionsPanel
from alexnet_gui.ui.widgets.status import StatusFields

if TYPE_CHECKING:  # handed in by alexnet_gui.app; importing them here would cost cv2
    from alexnet_gui.core.imaging.video import SourceInfo
    from alexnet_gui.workers.capture_client import CaptureClient
    from alexnet_gui.workers.capture_worker import CapturedFrame

NO_CAMERA_MESSAGE = ("No camera found. Connect one (and allow this app to use it), then choose "
                     "Camera > Start Camera again.")


class LiveController(QObject):
    """Connects the capture client, the Camera menu, the picture and the session; one per app.

    Signals:
        latency_measured(float): milliseconds from a frame's capture to its result's paint.
        frame_shown(object): the HxWx3 RGB frame (read-only) just put on screen (Teach records it).
    """

    latency_measured = pyqtSignal(float)
    frame_shown = pyqtSignal(object)

    def __init__(self, session: Session, *, capture: CaptureClient, actions: LiveActions,
                 view: ImageView, predictions: PredictionsPanel, status: StatusFields,
                 dialog_parent: QWidget) -> None:
        super().__init__(session)
        self._session, self._capture, self.actions = session, capture, actions
        self._view, self._predictions, self._status = view, predictions, status
        self._parent = dialog_parent
        self.meter = LiveMeter()  # replaced at each stream's start
        self._info: SourceInfo | None = None
        self._result: tuple[ClassifyResult, int] | None = None  # and the frame it was made from
        self._waiting_to_probe = self._closing = False
        self.actions.mirror.setChecked(session.settings.mirror)
        self.actions.loop.setChecked(session.settings.loop_video)
        self.actions.set_streaming(running=False)
        self._connect()

    @property
    def showing(self) -> bool:
        """Whether the picture is a live frame (running, frozen or stopped): results then change
        only the overlay. Cleared when a still image is opened. The view keeps the flag."""
        return self._view.showing_live

    @property
    def latest_result(self) -> tuple[ClassifyResult, int] | None:
        """The stream's newest result on screen and the index of the frame it was made from."""
        return self._result

    # -- commands -----------------------------------------------------------------------------

    def probe_cameras(self) -> None:
        """Look for cameras in the background; the Camera menu lists them when done."""
        self.actions.show_searching()
        self._capture.probe_cameras()

    def probe_cameras_after_first_answer(self) -> None:
        """Probe once the picture opened at start has its answer (a result or a failure).

        Probing imports OpenCV, a few hundred milliseconds of CPU (and of the GIL) that would
        otherwise be taken from the picture and its first top-5 on a small machine."""
        self.actions.show_searching()
        self._waiting_to_probe = True
        client = self._session.inference
        for signal in (client.prediction_ready, client.request_failed, client.model_failed):
            signal.connect(self._on_inference_first_answer)

    def start_camera(self) -> None:
        """Stream the chosen camera (the first found if the chosen one is gone)."""
        cameras = self._capture.cameras
        if cameras == []:
            self._session.post_message(NO_CAMERA_MESSAGE)
            self.probe_cameras()  # one may have been plugged in since
            return
        index = self._session.settings.camera_index
        if cameras and index not in cameras:
            index = cameras[0]
        self._start(index)

    def open_video_dialog(self) -> None:
        path = dialogs.open_video(self._parent, self._session.start_dir())
        if path is not None:
            self._session.update_settings(last_folder=str(path.parent))
            self.play_video(path)

    def play_video(self, path: Path) -> None:
        """Play a video file as a live source, at its own frame rate."""
        self._start(str(path))

    def stop(self) -> None:
        self._capture.stop()

    def snapshot(self) -> None:
        """Save the frame on screen as PNG and the latest result as JSON, in the chosen folder."""
        frame = self._capture.latest_frame
        if frame is None or not self.showing:
            self._session.post_status("Nothing to save: start the camera first.")
            return
        folder = self._snapshot_folder()
        if folder is None:
            return
        result, result_frame = self._result if self._result is not None else (None, None)
        name = self._info.name if self._info is not None else "camera"
        try:
            png, record = save_snapshot(SnapshotFrame(frame.rgb, name, frame.index, result_frame),
                                        result, folder)
        except ExportError as exc:
            self._session.post_message(str(exc))
            return
        self._session.post_status(f"Saved {png.name} and {record.name} in {folder}", SAVED_MS)

    def choose_snapshot_folder(self) -> Path | None:
        folder = dialogs.choose_snapshot_folder(self._parent, self._session.start_dir())
        if folder is not None:
            self._session.update_settings(snapshot_folder=str(folder))
        return folder

    # -- wiring -------------------------------------------------------------------------------

    def _connect(self) -> None:
        a, capture, session = self.actions, self._capture, self._session
        for action, slot in ((a.open_video, self.open_video_dialog),
                             (a.start_camera, self.start_camera), (a.stop, self.stop),
                             (a.snapshot, self.snapshot),
                             (a.snapshot_folder, self.choose_snapshot_folder)):
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        a.freeze.toggled.connect(self._on_freeze_toggled)
        a.mirror.toggled.connect(self._on_mirror_toggled)
        a.loop.toggled.connect(self._on_loop_toggled)
        a.camera_group.triggered.connect(self._on_camera_group_triggered)
        a.menu.aboutToShow.connect(self._on_camera_menu_about_to_show)
        capture.cameras_found.connect(self._on_capture_cameras_found)
        capture.stream_started.connect(self._on_capture_stream_started)
        capture.frame_captured.connect(self._on_capture_frame_captured)
        capture.fps_measured.connect(self._on_capture_fps_measured)
        capture.stream_failed.connect(self._on_capture_stream_failed)
        capture.stream_finished.connect(self._on_capture_stream_finished)
        session.result_shown.connect(self._on_session_result_shown)
        session.image_opened.connect(self._on_session_image_opened)
        session.closing.connect(self._on_session_closing)
        self._view.painted.connect(self._on_view_painted)

    def _start(self, target: int | str) -> None:
        settings = self._session.settings
        self._info = None  # until stream_started: a failure to open is about the new source
        self.actions.set_streaming(running=True)
        self._session.post_status("Opening the camera…" if isinstance(target, int)
                                  else f"Opening {Path(target).name}…", 0)
        mirror = settings.mirror if isinstance(target, int) else False  # selfie view: cameras
        self._capture.start(target, loop=settings.loop_video, mirror=mirror)

    def _snapshot_folder(self) -> Path | None:
        chosen = self._session.settings.snapshot_folder
        if chosen and Path(chosen).is_dir():
            return Path(chosen)
        return self.choose_snapshot_folder()

    def _end_stream(self, note: str) -> None:
        self._session.set_stream_moving(False)
        self.actions.set_streaming(running=False)
        self._status.clear_live()
        self._session.post_status(note)
        self.meter.forget_pending()

    def _show_live_status(self) -> None:
        if self._capture.is_frozen():
            self._status.set_frozen()
            return
        meter = self.meter
        self._status.set_live(capture_fps=meter.capture_fps,
                              classified_fps=meter.classified_fps,
                              latency_ms=meter.median_latency())

    # -- slots --------------------------------------------------------------------------------

    @pyqtSlot(bool)
    def _on_freeze_toggled(self, checked: bool) -> None:
        self._capture.set_frozen(checked)
        if self._capture.is_running():
            self._session.set_stream_moving(not checked)
            self._show_live_status()
        if checked:
            self._session.post_status("Frozen: press Space to go on.")

    @pyqtSlot(bool)
    def _on_mirror_toggled(self, checked: bool) -> None:
        if checked != self._session.settings.mirror:
            self._session.update_settings(mirror=checked)
        if self._capture.camera is not None:  # a selfie view: cameras only, never files
            self._capture.set_mirrored(checked)

    @pyqtSlot(bool)
    def _on_loop_toggled(self, checked: bool) -> None:
        if checked != self._session.settings.loop_video:
            self._session.update_settings(loop_video=checked)
        self._capture.set_looping(checked)

    @pyqtSlot(QAction)
    def _on_camera_group_triggered(self, action: QAction) -> None:
        index = int(action.data())
        self._session.update_settings(camera_index=index)
        if self._capture.is_running() and self._capture.camera not in (None, index):
            self._start(index)  # switch cameras while streaming

    @pyqtSlot()
    def _on_camera_menu_about_to_show(self) -> None:
        if not self._capture.is_probing():
            self._capture.probe_cameras()  # a camera plugged in since shows up while it is open

    @pyqtSlot(object)
    def _on_capture_cameras_found(self, indices: list[int]) -> None:
        chosen = self._session.settings.camera_index
        if indices and chosen not in indices:
            chosen = indices[0]
        self.actions.set_cameras(indices, chosen=chosen)

    @pyqtSlot(object)
    def _on_capture_stream_started(self, info: SourceInfo) -> None:
        self._info, self._result, self.meter = info, None, LiveMeter()
        self._session.set_stream_moving(not self._capture.is_frozen())
        self._view.show_scores(())  # a still's scores do not belong on the camera's picture
        self._view.set_note("classifying…")  # frames show at once; the first result follows
        self._predictions.set_prediction(None, message="Waiting for the first result…")
        self._session.set_title(info.name)
        rate = f", {info.fps:g} fps" if info.fps else ""
        self._session.post_status(f"{info.name}: {info.width}x{info.height}{rate}")
        self._show_live_status()

    @pyqtSlot(object)
    def _on_capture_frame_captured(self, frame: CapturedFrame) -> None:
        self._view.show_live_frame(frame.rgb)
        name = self._info.name if self._info is not None else "camera"
        request_id = self._session.submit_frame(frame.rgb, name=name)
        self.meter.frame_shown(request_id, frame.timestamp, frame.index)
        self.frame_shown.emit(frame.rgb)

    @pyqtSlot(float)
    def _on_capture_fps_measured(self, rate: float) -> None:
        self.meter.capture_fps = rate
        self._show_live_status()

    @pyqtSlot(str)
    def _on_capture_stream_failed(self, message: str) -> None:
        self._session.post_message(message)
        self._end_stream("The stream stopped.")
        if self._capture.camera is not None:
            self.probe_cameras()  # the camera may be gone: the menu should say so

    @pyqtSlot()
    def _on_capture_stream_finished(self) -> None:
        name = self._info.name if self._info is not None else "The stream"
        self._end_stream(f"{name} ended." if self._info is not None and self._info.is_file
                         else f"{name} stopped.")

    @pyqtSlot(object)
    def _on_session_result_shown(self, result: ClassifyResult) -> None:
        index = self.meter.result_shown(result.request_id)
        if index is not None:  # else a still image, or a frame of a stream since replaced
            self._result = (result, index)

    @pyqtSlot()
    def _on_view_painted(self) -> None:
        latency = self.meter.painted(with_overlay=bool(self._view.scores))
        if latency is not None:
            self.latency_measured.emit(latency)

    @pyqtSlot()
    def _on_session_image_opened(self) -> None:
        self._view.leave_live()
        self.meter.forget_pending()
        if self._capture.is_running():
            self._capture.stop()

    @pyqtSlot(object)
    def _on_inference_first_answer(self, _answer: object) -> None:
        if not self._waiting_to_probe:
            return
        self._waiting_to_probe = False
        client = self._session.inference
        for signal in (client.prediction_ready, client.request_failed, client.model_failed):
            signal.disconnect(self._on_inference_first_answer)
        if not self._closing:
            self.probe_cameras()

    @pyqtSlot()
    def _on_session_closing(self) -> None:
        self._closing = True
        self._capture.shutdown()
