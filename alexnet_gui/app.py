"""The GUI application and its composition root: the one place that builds every part.

The window is shown first and the model loaded after, in the worker thread: importing torch and
building a 61M-parameter model takes seconds, and the window should be there at once. Nothing in
this module (or what it imports) imports torch, torchvision or cv2.

Diagnostics, read from the environment (the start-up benchmark and the screenshot use them):
``ALEXNET_GUI_TIMING=1`` prints ``alexnet-gui-timing EVENT EPOCH_SECONDS`` lines for
``window_shown``, ``image_shown`` (the opened picture is on screen, before or with its result),
``model_loaded`` (or ``model_failed``) and ``first_result``;
``ALEXNET_GUI_QUIT_AFTER=EVENT`` quits after that event; ``ALEXNET_GUI_SCREENSHOT=FILE`` saves
the window as a PNG after the first result, then quits. ``ALEXNET_GUI_LOG=DEBUG`` sets the log
level.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtCore import QObject, QSettings, Qt, QTimer, pyqtSlot
from PyQt5.QtGui import QIcon
from PyQt5.QtWidgets import QApplication

from alexnet_gui import APP_NAME, ORG_NAME, __version__, excepthook
from alexnet_gui.excepthook import install_excepthook
from alexnet_gui.paths import resource_path
from alexnet_gui.settings import load_settings, open_store
from alexnet_gui.ui import dialogs
from alexnet_gui.ui import help as help_sheets
from alexnet_gui.ui.browse.controller import BrowseController
from alexnet_gui.ui.compare import compare, similar
from alexnet_gui.ui.compare.compare import CompareController, ComparePanel
from alexnet_gui.ui.compare.similar import SimilarController, SimilarPanel
from alexnet_gui.ui.export_model import ExportModelController
from alexnet_gui.ui.inside import panel as inside
from alexnet_gui.ui.inside.controller import InsideController
from alexnet_gui.ui.inside.panel import InsidePanel
from alexnet_gui.ui.inside.unit_controller import UnitController
from alexnet_gui.ui.live.actions import LiveActions
from alexnet_gui.ui.live.controller import LiveController
from alexnet_gui.ui.main_window import MainWindow
from alexnet_gui.ui.model_controller import ModelController
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.results import ResultsController
from alexnet_gui.ui.session import Session
from alexnet_gui.ui.teach import controller as teach
from alexnet_gui.ui.teach.controller import TeachController
from alexnet_gui.ui.teach.panel import TeachPanel
from alexnet_gui.ui.training.controller import TrainingController
from alexnet_gui.workers.capture_client import CaptureClient
from alexnet_gui.workers.explain_job import ExplainJob, ModelShelf
from alexnet_gui.workers.export_job import ExportJob
from alexnet_gui.workers.inference_client import InferenceClient
from alexnet_gui.workers.inference_worker import ModelLoader, QuickFinder
from alexnet_gui.workers.jobs import JobRunner
from alexnet_gui.workers.picture_loader import PictureLoader
from alexnet_gui.workers.similarity_job import SimilarityJob
from alexnet_gui.workers.teach_worker import TeachClient
from alexnet_gui.workers.training_job import TrainingJob
from alexnet_gui.workers.unit_jobs import MaximiseJob, TopPatchesJob

log = logging.getLogger(__name__)


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (or the existing one), with names, icon and the Fusion style."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_EnableHighDpiScaling, True)
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_UseHighDpiPixmaps, True)
    app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(ORG_NAME)
    app.setStyle("Fusion")
    icon = resource_path("icons", "alexnet-gui.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


@dataclass(eq=False)
class Gui:
    """The window, the session and every feature controller: what :func:`build_gui` made."""

    window: MainWindow
    session: Session
    browse: BrowseController
    models: ModelController
    results: ResultsController
    live: LiveController
    inside: InsideController
    inside_panel: InsidePanel
    compare: CompareController
    similar: SimilarController
    training: TrainingController
    teach: TeachController | None = None

    def start(self, *, files: Sequence[str] = (), weights: str | None = None) -> None:
        """Start the worker, load the model (the cached engine, or torch), then open ``files``.

        Cameras are probed in the background (the Camera menu lists what it finds); with
        ``files``, once the first of them has its answer, so OpenCV's import does not slow it."""
        self.session.inference.start()
        if not files:
            self.live.probe_cameras()
        self.models.start(weights)
        if files:
            self.browse.open_paths([Path(f) for f in files])
            self.live.probe_cameras_after_first_answer()


def build_gui(
    *,
    store: QSettings | None = None,
    loader: ModelLoader | None = None,
    download_url: str | None = None,
    capture: CaptureClient | None = None,
    quick: QuickFinder | None = None,
) -> Gui:
    """The one place that builds the window, the session, the workers' clients and the features.

    Nothing is started: :meth:`Gui.start` starts the worker after the window is shown.

    Args:
        store: Where settings live; the user's INI file by default, a temporary one in tests.
        loader: Builds a Classifier in the worker thread; tests pass a caching one.
        download_url: Where the download dialog fetches weights; torchvision's URL by default.
        capture: Cameras and video files; tests pass one with fake cameras. Building it costs no
            OpenCV: cv2 is imported by its first probe or stream, after the window is shown.
        quick: Finds the cached engine that answers while the full network loads; the engine
            cache by default, none when a test passes its own ``loader`` (unless given here).
    """
    store = store if store is not None else open_store()
    settings = load_settings(store)
    window = MainWindow()
    window.restore_layout(settings)  # before the docks below, so they get their saved places
    session = Session(settings=settings, store=store,
                      inference=InferenceClient(loader=loader, quick=quick), jobs=JobRunner(),
                      pictures=PictureLoader(), parent=window)
    menus = window.actions_.menus
    session.message_posted.connect(window.messages.show_message)
    session.message_cleared.connect(window.messages.dismiss)
    session.status_posted.connect(window.show_status)
    session.title_changed.connect(window.show_title)
    window.actions_.about.triggered.connect(functools.partial(dialogs.show_about, window))
    window.actions_.about_qt.triggered.connect(QApplication.aboutQt)
    window.actions_.shortcuts.triggered.connect(functools.partial(help_sheets.show_shortcuts,
                                                                  window))
    window.actions_.user_guide.triggered.connect(functools.partial(help_sheets.show_guide, window))
    window.actions_.message_history.triggered.connect(window.messages.show_history)
    models = ModelController(session, actions=window.actions_, predictions=window.predictions,
                             status=window.status, dialog_parent=window, download_url=download_url)
    results = ResultsController(session, view=window.view, predictions=window.predictions,
                                status=window.status)
    browse = BrowseController(session, actions=window.actions_, batch=window.batch,
                              dialog_parent=window)
    window.content_dropped.connect(browse.on_content_dropped)
    live_actions = LiveActions(window, camera_menu=window.add_menu("&Camera"),
                               file_menu=menus["file"],
                               file_anchor=present(menus["recent"].menuAction()),
                               toolbar=window.actions_.toolbar)
    live = LiveController(session, capture=capture if capture is not None else CaptureClient(),
                          actions=live_actions, view=window.view,
                          predictions=window.predictions, status=window.status,
                          dialog_parent=window)
    inside_panel = InsidePanel()
    inside_dock = window.add_dock(inside_panel, "Inside the network",
                                  object_name=inside.DOCK_NAME, hidden=True)
    inside_controller = InsideController(
        session, panel=inside_panel, dock=inside_dock, view=window.view,
        make_explain_job=functools.partial(ExplainJob, loader=loader, shelf=ModelShelf()))
    UnitController(session, view=inside_panel.features.unit_view,  # kept by the session
                   make_top=functools.partial(TopPatchesJob, loader=loader),
                   make_maximise=functools.partial(MaximiseJob, loader=loader),
                   dialog_parent=window)
    training = TrainingController(session, menu=menus["model"], make_job=TrainingJob,
                                  dialog_parent=window)
    ExportModelController(session, action=window.actions_.export_model, make_job=ExportJob,
                          dialog_parent=window)  # Model > Export…; lives as the session's child
    compare_panel = ComparePanel()
    compare_controller = CompareController(
        session, panel=compare_panel, view=window.view, menu=menus["model"],
        dock=window.add_dock(compare_panel, "Compare", object_name=compare.DOCK_NAME,
                             hidden=True),
        make_client=functools.partial(InferenceClient, loader=loader), dialog_parent=window)
    similar_panel = SimilarPanel()
    similar_controller = SimilarController(
        session, panel=similar_panel, menu=window.add_menu("&Tools"), make_job=SimilarityJob,
        dock=window.add_dock(similar_panel, "Similar images", object_name=similar.DOCK_NAME,
                             hidden=True),
        dialog_parent=window)
    teach_panel = TeachPanel()
    teach_controller = TeachController(
        session, panel=teach_panel, menu=menus["model"], client=TeachClient(parent=window),
        dock=window.add_dock(teach_panel, "Teach", object_name=teach.DOCK_NAME, hidden=True),
        frames=live.frame_shown, dialog_parent=window, offer_download=models.offer_download)
    excepthook.add_reporter(window.messages.show_message)

    def close() -> None:  # the layout first: closing the features may hide docks
        session.update_settings(**window.layout_state())
        session.shutdown()
        excepthook.remove_reporter(window.messages.show_message)

    window.closing.connect(close)
    return Gui(window, session, browse, models, results, live, inside_controller, inside_panel,
               compare_controller, similar_controller, training, teach_controller)


def configure_logging(level: str | None = None) -> None:
    """The app's own loggers at ``level`` (``ALEXNET_GUI_LOG``); every other library at WARNING.

    ``ALEXNET_GUI_LOG=DEBUG`` is for reading what the app does: Pillow's chunk-by-chunk debug
    lines (tens of thousands per folder) would bury it.
    """
    name = (level or os.environ.get("ALEXNET_GUI_LOG") or "WARNING").upper()
    value = logging.getLevelName(name)
    if not isinstance(value, int):
        value = logging.WARNING
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("alexnet_gui").setLevel(value)


def run_gui(*, files: Sequence[str] = (), weights: str | None = None,
            exit_fast: bool = True) -> int:
    """Show the window, then start the worker and open ``files``; the event loop's exit code.

    ``exit_fast``: once the window has closed (settings saved, workers and jobs stopped), leave
    with ``os._exit`` after Python's exit handlers, skipping the second or more that unloading
    torch's and OpenVINO's native libraries takes: Ctrl+Q should close, not linger.
    """
    install_excepthook()
    configure_logging()
    app = create_application()
    gui = build_gui()
    probe = _Probe(gui)
    # Ctrl+C or a logout still shut down cleanly. close() is a Qt slot returning bool; the
    # stub wants slots that return None.
    app.aboutToQuit.connect(gui.window.close)  # type: ignore[arg-type]
    _quit_on_sigint(app)
    gui.window.show()

    def start() -> None:
        probe.mark("window_shown")
        gui.start(files=tuple(files), weights=weights)

    QTimer.singleShot(0, start)
    code = app.exec_()
    gui.window.close()  # once only: saves the layout and stops the workers if not done yet
    if exit_fast:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """Run the exit handlers, flush, and end the process without unloading native libraries."""
    import atexit

    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)


def _quit_on_sigint(app: QApplication) -> None:
    """Ctrl+C in the terminal quits; a timer lets Python run its signal handler in Qt's loop."""
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


class _Probe(QObject):
    """Timestamps, quit-after and screenshot for benchmarks and docs; idle unless asked."""

    def __init__(self, gui: Gui) -> None:
        super().__init__(gui.window)
        self._window = gui.window
        self._timing = os.environ.get("ALEXNET_GUI_TIMING") == "1"
        self._quit_after = os.environ.get("ALEXNET_GUI_QUIT_AFTER", "")
        self._screenshot = os.environ.get("ALEXNET_GUI_SCREENSHOT", "")
        self._seen: set[str] = set()
        gui.session.inference.model_loaded.connect(self._on_inference_model_loaded)
        gui.session.inference.model_failed.connect(self._on_inference_model_failed)
        gui.session.result_shown.connect(self._on_session_result_shown)
        gui.session.picture_shown.connect(self._on_session_picture_shown)

    def mark(self, event: str) -> None:
        if event in self._seen:
            return
        self._seen.add(event)
        if self._timing:
            print(f"alexnet-gui-timing {event} {time.time():.6f}", flush=True)
        if event == "first_result" and self._screenshot:
            QTimer.singleShot(400, self._save_screenshot)  # let the window paint first
        elif event == self._quit_after:
            # close() is a Qt slot returning bool; the stub wants slots that return None
            QTimer.singleShot(0, self._window.close)  # type: ignore[arg-type]

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, _status: object) -> None:
        self.mark("model_loaded")

    @pyqtSlot(object)
    def _on_inference_model_failed(self, _failure: object) -> None:
        self.mark("model_failed")
        self.mark("model_loaded")

    @pyqtSlot(object)
    def _on_session_picture_shown(self, _picture: object) -> None:
        self.mark("image_shown")

    @pyqtSlot(object)
    def _on_session_result_shown(self, result: object) -> None:
        self.mark("image_shown")  # if the result came before its picture, both are up now
        if getattr(result, "prediction", None) is not None:
            self.mark("first_result")

    def _save_screenshot(self) -> None:
        path = Path(self._screenshot)
        if not self._window.grab().save(str(path), "PNG"):
            log.error("could not save the screenshot to %s", path)
        self._window.close()
