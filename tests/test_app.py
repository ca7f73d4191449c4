"""Starting the app for real: main.py and ``python -m alexnet_gui`` in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt5.QtGui import QImage

import main as launcher
from alexnet_gui import excepthook
from alexnet_gui.app import create_application
from alexnet_gui.settings import load_settings, open_store, settings_path

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("qthread_guard")


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
    )


@pytest.mark.slow
def test_main_py_opens_classifies_screenshots_and_saves_settings(tmp_path, state_dict_file,
                                                                 chelsea_png):
    shot = tmp_path / "shot.png"
    done = run(["main.py", "--weights", str(state_dict_file), str(chelsea_png)],
               ALEXNET_GUI_TIMING="1", ALEXNET_GUI_SCREENSHOT=str(shot))
    assert done.returncode == 0, done.stderr
    stamps = dict(line.split()[1:] for line in done.stdout.splitlines()
                  if line.startswith("alexnet-gui-timing"))
    assert set(stamps) == {"window_shown", "image_shown", "model_loaded", "first_result"}
    assert float(stamps["window_shown"]) <= float(stamps["model_loaded"])
    assert float(stamps["image_shown"]) <= float(stamps["first_result"])
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 700  # fitted to the 800x600 screen
    settings = load_settings(open_store(settings_path()))  # XDG_CONFIG_HOME is per test
    assert settings.last_model == str(state_dict_file)
    assert settings.recent_files == (str(chelsea_png),)
    assert settings.window_geometry


def test_python_m_help_needs_no_window():
    done = run(["-m", "alexnet_gui", "--help"])
    assert done.returncode == 0 and "--weights" in done.stdout


def test_main_py_installs_the_excepthook_before_the_command_line(monkeypatch):
    import alexnet_gui.cli

    seen = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(alexnet_gui.cli, "entry_point", lambda: seen.append(sys.excepthook))
    launcher.main()
    assert seen == [excepthook.handle_exception]


def test_create_application_reuses_the_running_one(qapp):
    assert create_application() is qapp


def test_an_exception_in_a_slot_is_logged_and_the_app_goes_on():
    """Under PyQt5 an unhandled slot exception aborts the process unless a hook is installed."""
    code = """
from alexnet_gui.excepthook import install_excepthook
install_excepthook()
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication
app = QApplication([])
def broken():
    raise RuntimeError("slot failed")
QTimer.singleShot(0, broken)
QTimer.singleShot(50, lambda: print("still running", flush=True) or app.quit())
raise SystemExit(app.exec_())
"""
    done = run(["-c", code])
    assert done.returncode == 0, done.stderr
    assert "still running" in done.stdout
    assert "RuntimeError: slot failed" in done.stderr


@pytest.mark.slow
def test_the_fast_exit_after_quitting_loses_nothing(state_dict_file, chelsea_png):
    """Quitting ends the process with os._exit once the window has closed; it must still exit 0
    and leave the settings written. (How long it takes is measured, not asserted: 1.3-2.0 s
    before, 0.13-0.15 s after, on this 2-core machine.)"""
    from alexnet_gui.settings import load_settings, open_store, settings_path

    done = run(["-m", "alexnet_gui", "--weights", str(state_dict_file), str(chelsea_png)],
               ALEXNET_GUI_TIMING="1", ALEXNET_GUI_QUIT_AFTER="first_result")
    assert done.returncode == 0, done.stderr
    assert "first_result" in done.stdout
    saved = load_settings(open_store(settings_path()))
    assert saved.last_model == str(state_dict_file) and saved.window_geometry
    assert saved.recent_files[0] == str(chelsea_png)


@pytest.mark.slow
def test_the_picture_is_shown_and_the_app_can_quit_after_it(state_dict_file, chelsea_png):
    """``image_shown``: the opened picture is on screen; ALEXNET_GUI_QUIT_AFTER accepts it."""
    done = run(["-m", "alexnet_gui", "--weights", str(state_dict_file), str(chelsea_png)],
               ALEXNET_GUI_TIMING="1", ALEXNET_GUI_QUIT_AFTER="image_shown")
    assert done.returncode == 0, done.stderr
    events = [line.split()[1] for line in done.stdout.splitlines()
              if line.startswith("alexnet-gui-timing")]
    assert events[0] == "window_shown" and "image_shown" in events


SPY = """import sys, alexnet_gui.app as app
mark = app._Probe.mark
def spy(self, event):
    print("torch-at", event, "torch" in sys.modules, flush=True)
    mark(self, event)
app._Probe.mark = spy
sys.exit(app.run_gui(files=[sys.argv[2]], weights=sys.argv[1]))
"""


@pytest.mark.slow
def test_with_the_engine_cached_the_first_top5_comes_without_torch(
        monkeypatch, int8_selection, engine_cache_home, photo_classifier_file, chelsea_png):
    """The fast start for real: the cached int8 engine answers; torch is imported after."""
    from alexnet_gui.core.engines.names import ENGINE_ENV
    from alexnet_gui.settings import Settings, save_settings

    monkeypatch.delenv(ENGINE_ENV, raising=False)
    save_settings(Settings(engine="openvino-int8"), open_store(settings_path()))
    done = run(["-c", SPY, str(photo_classifier_file), str(chelsea_png)],
               XDG_CACHE_HOME=str(engine_cache_home), ALEXNET_GUI_QUIT_AFTER="first_result",
               ALEXNET_GUI_LOG="INFO")
    assert done.returncode == 0, done.stderr
    torch_at = dict(line.split()[1:] for line in done.stdout.splitlines()
                    if line.startswith("torch-at"))
    assert torch_at == {"window_shown": "False", "image_shown": "False", "model_loaded": "False",
                        "first_result": "False"}
    assert "quick engine: openvino-int8" in done.stderr


def test_debug_logging_is_the_apps_not_the_image_librarys():
    import logging

    from alexnet_gui.app import configure_logging

    root, ours = logging.getLogger(), logging.getLogger("alexnet_gui")
    saved = root.level, ours.level
    try:
        configure_logging("DEBUG")
        assert logging.getLogger("alexnet_gui.workers.inference_worker").isEnabledFor(
            logging.DEBUG)
        assert not logging.getLogger("PIL.PngImagePlugin").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        ours.setLevel(saved[1])
