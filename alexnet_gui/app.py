"""The GUI application: QApplication, settings, the main window and its workers.

The window is shown first and the model loaded after, in the worker thread: importing torch and
building a 61M-parameter model takes seconds, and the window should be there at once. Nothing in
this module (or what it imports) imports torch, torchvision or cv2.

Diagnostics, read from the environment (the start-up benchmark and the screenshot use them):
``ALEXNET_GUI_TIMING=1`` prints ``alexnet-gui-timing EVENT EPOCH_SECONDS`` lines for
``window_shown``, ``model_loaded`` (or ``model_failed``) and ``first_result``;
``ALEXNET_GUI_QUIT_AFTER=EVENT`` quits after that event; ``ALEXNET_GUI_SCREENSHOT=FILE`` saves
the window as a PNG after the first result, then quits. ``ALEXNET_GUI_LOG=DEBUG`` sets the log
level.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PyQt5.QtCore import QObject, QSettings, Qt, QTimer, pyqtSlot
from PyQt5.QtGui import QIcon
from PyQt5.QtWidgets import QApplication

from alexnet_gui import APP_NAME, ORG_NAME, __version__
from alexnet_gui.excepthook import install_excepthook
from alexnet_gui.paths import resource_path
from alexnet_gui.settings import load_settings, open_store
from alexnet_gui.ui.compare.compare import attach_compare
from alexnet_gui.ui.compare.similar import attach_similar_panel
from alexnet_gui.ui.inside.panel import attach_inside_panel
from alexnet_gui.ui.main_window import MainWindow
from alexnet_gui.ui.training.dialog import attach_training
from alexnet_gui.workers.capture_client import CaptureClient
from alexnet_gui.workers.inference_client import InferenceClient
from alexnet_gui.workers.inference_worker import ModelLoader
from alexnet_gui.workers.inspector import NetworkInspector
from alexnet_gui.workers.jobs import JobRunner
from alexnet_gui.workers.similarity_job import SimilarityJob
from alexnet_gui.workers.training_job import TrainingJob

log = logging.getLogger(__name__)


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (or the existing one), with names, icon and the Fusion style."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
    QApplication.setAttribute(Qt.AA_UseHighDpiPixmaps, True)
    app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(ORG_NAME)
    app.setStyle("Fusion")
    icon = resource_path("icons", "alexnet-gui.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def create_main_window(
    *,
    store: QSettings | None = None,
    loader: ModelLoader | None = None,
    download_url: str | None = None,
    capture: CaptureClient | None = None,
) -> MainWindow:
    """The window with its (not yet started) inference client, job runner and camera client.

    The "Inside the network" panel is docked here too; its inspector runs in the inference
    worker, and the panel's options reach it through the inspector's lock-guarded holder. So are
    training (a dialog running jobs), compare mode (a second inference client, started only when
    used) and Find Similar (a dock running jobs with a model of their own).

    Args:
        store: Where settings live; the user's INI file by default, a temporary one in tests.
        loader: Builds a Classifier in the worker thread; tests pass a caching one.
        download_url: Where the download dialog fetches weights; torchvision's URL by default.
        capture: Cameras and video files; tests pass one with fake cameras. Building it costs no
            OpenCV: cv2 is imported by its first probe or stream, after the window is shown.
    """
    store = store if store is not None else open_store()
    inspector = NetworkInspector()
    inference = InferenceClient(loader=loader)
    inference.set_inspector(inspector)
    window = MainWindow(
        settings=load_settings(store),
        store=store,
        inference=inference,
        jobs=JobRunner(),
        capture=capture if capture is not None else CaptureClient(),
        download_url=download_url,
    )
    attach_inside_panel(window, inspector.set_options)
    attach_training(window, TrainingJob)
    attach_compare(window, functools.partial(InferenceClient, loader=loader))
    attach_similar_panel(window, SimilarityJob)
    return window


def run_gui(*, files: Sequence[str] = (), weights: str | None = None) -> int:
    """Show the window, then start the worker and open ``files``; the event loop's exit code."""
    install_excepthook()
    level = os.environ.get("ALEXNET_GUI_LOG", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_application()
    window = create_main_window()
    probe = _Probe(window)
    app.aboutToQuit.connect(window.close)  # Ctrl+C or a session logout still shuts down cleanly
    _quit_on_sigint(app)
    window.show()

    def start() -> None:
        probe.mark("window_shown")
        window.start(files=tuple(files), weights=weights)

    QTimer.singleShot(0, start)
    return app.exec_()


def _quit_on_sigint(app: QApplication) -> None:
    """Ctrl+C in the terminal quits; a timer lets Python run its signal handler in Qt's loop."""
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


class _Probe(QObject):
    """Timestamps, quit-after and screenshot for benchmarks and docs; idle unless asked."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._timing = os.environ.get("ALEXNET_GUI_TIMING") == "1"
        self._quit_after = os.environ.get("ALEXNET_GUI_QUIT_AFTER", "")
        self._screenshot = os.environ.get("ALEXNET_GUI_SCREENSHOT", "")
        self._seen: set[str] = set()
        window.inference.model_loaded.connect(self._on_inference_model_loaded)
        window.inference.model_failed.connect(self._on_inference_model_failed)
        window.result_shown.connect(self._on_window_result_shown)

    def mark(self, event: str) -> None:
        if event in self._seen:
            return
        self._seen.add(event)
        if self._timing:
            print(f"alexnet-gui-timing {event} {time.time():.6f}", flush=True)
        if event == "first_result" and self._screenshot:
            QTimer.singleShot(400, self._save_screenshot)  # let the window paint first
        elif event == self._quit_after:
            QTimer.singleShot(0, self._window.close)

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, _status: object) -> None:
        self.mark("model_loaded")

    @pyqtSlot(object)
    def _on_inference_model_failed(self, _failure: object) -> None:
        self.mark("model_failed")
        self.mark("model_loaded")

    @pyqtSlot(object)
    def _on_window_result_shown(self, result: object) -> None:
        if getattr(result, "prediction", None) is not None:
            self.mark("first_result")

    def _save_screenshot(self) -> None:
        path = Path(self._screenshot)
        if not self._window.grab().save(str(path), "PNG"):
            log.error("could not save the screenshot to %s", path)
        self._window.close()
