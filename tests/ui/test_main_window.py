"""The real main window with the real worker thread and a random model: images in, top-k out."""

from __future__ import annotations

import tempfile

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication, QLabel

from alexnet_gui import excepthook
from alexnet_gui.ui import dialogs
from tests.ui.helpers import TIMEOUT, drop, url_mime, wait_result

pytestmark = pytest.mark.integration


def test_window_first_then_model_then_result(qtbot, make_main_window, state_dict_file,
                                             chelsea_png):
    window = make_main_window()
    assert window.windowTitle() == "AlexNet GUI"
    with qtbot.waitSignal(window.result_shown, timeout=TIMEOUT) as blocker:
        window.start(files=[str(chelsea_png)], weights=str(state_dict_file))
        assert window.status.model.text() == "Loading model…"  # the window did not wait
    result = blocker.args[0]
    assert window.windowTitle() == "chelsea.png - AlexNet GUI"
    assert len(result.prediction.scores) == 5
    assert window.view.scores == result.prediction.scores  # drawn on the picture
    assert window.predictions.bar_texts()[0].startswith(f"1. {result.prediction.top1.label}: ")
    assert window.status.model.text() == "Model: alexnet-random.pth · 1000 classes"
    assert window.status.device.text() == "Device: cpu"
    assert "ms" in window.status.latency.text()


def test_open_several_files_and_browse_with_the_keyboard(qtbot, main_window, monkeypatch,
                                                         photo_folder):
    files = [photo_folder / "chelsea.jpg", photo_folder / "coffee.jpg"]
    monkeypatch.setattr(dialogs, "open_images", lambda parent, directory: files)
    with qtbot.waitSignal(main_window.inference.batch_finished, timeout=TIMEOUT):
        wait_result(qtbot, main_window, main_window.actions_.open_files.trigger,
                    name="chelsea.jpg")
    assert main_window.batch.table.rowCount() == 2
    main_window.activateWindow()
    qtbot.waitActive(main_window)
    wait_result(qtbot, main_window, lambda: QTest.keyClick(main_window, Qt.Key_Right),
                name="coffee.jpg")
    assert main_window.windowTitle() == "coffee.jpg - AlexNet GUI"
    assert main_window.batch.table.currentRow() == 1
    wait_result(qtbot, main_window, lambda: QTest.keyClick(main_window, Qt.Key_PageUp),
                name="chelsea.jpg")


def test_drop_a_folder_broken_file_gives_a_message_others_classify(qtbot, main_window,
                                                                    photo_folder):
    with qtbot.waitSignal(main_window.inference.batch_finished, timeout=TIMEOUT) as finished:
        assert wait_result(qtbot, main_window, lambda: drop(main_window, url_mime([photo_folder])),
                           name="astronaut.jpg")
    assert (finished.args[0].total, finished.args[0].failed) == (5, 1)
    table = main_window.batch.table
    tops = [table.item(row, 1).text() for row in range(table.rowCount())]
    assert sum(bool(t) and not t.startswith("⚠") for t in tops) == 4
    assert tops[1].startswith("⚠ broken.jpg")
    assert main_window.messages.isVisible() and "broken.jpg" in main_window.messages.text
    with qtbot.waitSignal(main_window.inference.request_failed, timeout=TIMEOUT):
        table.setCurrentCell(1, 0)  # click the broken file's row
    assert not main_window.view.has_image
    assert main_window.windowTitle() == "broken.jpg - AlexNet GUI"
    wait_result(qtbot, main_window, lambda: table.setCurrentCell(2, 0), name="chelsea.jpg")


def test_paste_an_image_and_paste_copied_files(qtbot, main_window, chelsea_png):
    from PyQt5.QtGui import QImage

    clipboard = QApplication.clipboard()
    clipboard.setImage(QImage(str(chelsea_png)))
    result = wait_result(qtbot, main_window, main_window.actions_.paste.trigger,
                         name="pasted image")
    assert result.image.shape == (300, 451, 3)
    clipboard.setMimeData(url_mime([chelsea_png]))
    wait_result(qtbot, main_window, main_window.actions_.paste.trigger, name="chelsea.png")
    assert str(chelsea_png) == main_window.settings.recent_files[0]
    clipboard.clear()
    main_window.paste()
    assert "no image" in main_window.statusBar().currentMessage()


def test_topk_and_tencrop_options(qtbot, main_window, chelsea_png):
    wait_result(qtbot, main_window, lambda: main_window.open_paths([chelsea_png]))
    result = wait_result(qtbot, main_window, main_window.actions_.topk[3].trigger)
    assert len(result.prediction.scores) == 3 and len(main_window.view.scores) == 3
    assert len(main_window.predictions.bar_texts()) == 3
    result = wait_result(qtbot, main_window, main_window.actions_.tta.trigger)
    assert result.prediction.tta and main_window.settings.tta


def test_device_menu_switches_inside_the_worker(qtbot, main_window):
    assert not main_window.actions_.devices["cuda"].isEnabled()  # no GPU here
    with qtbot.waitSignal(main_window.inference.device_changed, timeout=TIMEOUT) as blocker:
        main_window.actions_.devices["cpu"].trigger()
    assert blocker.args[0].info.device == "cpu"
    assert main_window.settings.device == "cpu"
    with qtbot.waitSignal(main_window.inference.device_failed, timeout=TIMEOUT):
        main_window.inference.set_device("cuda")  # what a stale menu would ask for
    assert "CUDA" in main_window.messages.text


def test_export_result_csv_and_an_unwritable_folder(qtbot, main_window, monkeypatch, tmp_path,
                                                   photo_folder):
    monkeypatch.setattr(dialogs, "open_folder", lambda parent, directory: photo_folder)
    with qtbot.waitSignal(main_window.inference.batch_finished, timeout=TIMEOUT):
        wait_result(qtbot, main_window, main_window.actions_.open_folder.trigger)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(dialogs, "save_result", lambda parent, suggested: out / "cat.png")
    monkeypatch.setattr(dialogs, "save_csv", lambda parent, suggested: out / "t.csv")
    main_window.actions_.export_result.trigger()
    main_window.actions_.export_csv.trigger()
    assert sorted(p.name for p in out.iterdir()) == ["cat.json", "cat.png", "t.csv"]
    assert len((out / "t.csv").read_text().splitlines()) == 6
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(dialogs, "save_result", lambda parent, suggested: locked / "x.png")

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    main_window.actions_.export_result.trigger()
    assert "Cannot write to" in main_window.messages.text
    assert list(locked.iterdir()) == []


def test_a_slot_exception_is_shown_not_fatal(main_window):
    try:
        raise ValueError("boom")
    except ValueError as exc:
        excepthook.handle_exception(ValueError, exc, exc.__traceback__)
    assert "ValueError: boom" in main_window.messages.text


def test_extension_points_for_panels_menus_and_frames(qtbot, main_window, chelsea_rgb):
    dock = main_window.add_dock(QLabel("inside"), "Inside the network", object_name="insideDock")
    assert dock.toggleViewAction() in main_window.actions_.menus["view"].actions()
    tools = main_window.add_menu("&Extras")  # the app has a Tools menu of its own
    titles = [a.text() for a in main_window.menuBar().actions()]
    assert titles.index("&Extras") == titles.index("&Help") - 1
    main_window.inference.set_inspector(
        lambda classifier, image, request: (
            classifier.classify(image, topk=request.topk), {"size": image.size})
    )
    main_window.set_inspect(True)
    result = wait_result(qtbot, main_window,
                         lambda: main_window.submit_frame(chelsea_rgb, name="camera"),
                         name="camera")
    assert result.views == {"size": (451, 300)}
    assert tools.title() == "&Extras"


def test_full_screen_and_quit(qtbot, main_window):
    main_window.actions_.full_screen.trigger()
    qtbot.waitUntil(main_window.isFullScreen)
    main_window.actions_.full_screen.trigger()
    qtbot.waitUntil(lambda: not main_window.isFullScreen())
    main_window.actions_.quit.trigger()
    assert not main_window.isVisible()
    assert not main_window.inference.thread.isRunning()


def test_dropped_encoded_image_bytes_are_decoded_in_the_worker(qtbot, main_window, chelsea_png):
    from PyQt5.QtCore import QMimeData

    mime = QMimeData()
    mime.setData("image/png", chelsea_png.read_bytes())
    result = wait_result(qtbot, main_window, lambda: drop(main_window, mime),
                         name="pasted image")
    assert result.image.shape == (300, 451, 3)
    ignored = QMimeData()
    ignored.setText("just text")
    assert not drop(main_window, ignored)
