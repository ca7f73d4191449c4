"""The real main window with the real worker thread and a random model: images in, top-k out."""

from __future__ import annotations

import tempfile

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication, QLabel

from alexnet_gui import excepthook
from alexnet_gui.messages import InsideViews, InspectOptions
from alexnet_gui.ui import dialogs
from tests.ui.helpers import TIMEOUT, drop, url_mime, wait_result

pytestmark = pytest.mark.integration


def test_window_first_then_model_then_result(qtbot, make_gui, state_dict_file,
                                             chelsea_png):
    gui = make_gui()
    assert gui.window.windowTitle() == "AlexNet GUI"
    with qtbot.waitSignal(gui.session.result_shown, timeout=TIMEOUT) as blocker:
        gui.start(files=[str(chelsea_png)], weights=str(state_dict_file))
        assert gui.window.status.model.text() == "Loading model…"  # the window did not wait
    result = blocker.args[0]
    assert gui.window.windowTitle() == "chelsea.png - AlexNet GUI"
    assert len(result.prediction.scores) == 5
    assert gui.window.view.scores == result.prediction.scores  # drawn on the picture
    assert gui.window.predictions.bar_texts()[0].startswith(f"1. {result.prediction.top1.label}: ")
    assert gui.window.status.model.text() == "Model: alexnet-random.pth · 1000 classes"
    assert gui.window.status.device.text() == "Device: cpu"
    assert "ms" in gui.window.status.latency.text()


def test_open_several_files_and_browse_with_the_keyboard(qtbot, gui, monkeypatch,
                                                         photo_folder):
    files = [photo_folder / "chelsea.jpg", photo_folder / "coffee.jpg"]
    monkeypatch.setattr(dialogs, "open_images", lambda parent, directory: files)
    with qtbot.waitSignal(gui.session.inference.batch_finished, timeout=TIMEOUT):
        wait_result(qtbot, gui, gui.window.actions_.open_files.trigger,
                    name="chelsea.jpg")
    assert gui.window.batch.table.rowCount() == 2
    gui.window.activateWindow()
    qtbot.waitActive(gui.window)
    wait_result(qtbot, gui, lambda: QTest.keyClick(gui.window, Qt.Key_Right),
                name="coffee.jpg")
    assert gui.window.windowTitle() == "coffee.jpg - AlexNet GUI"
    assert gui.window.batch.table.currentRow() == 1
    wait_result(qtbot, gui, lambda: QTest.keyClick(gui.window, Qt.Key_PageUp),
                name="chelsea.jpg")


def test_drop_a_folder_broken_file_gives_a_message_others_classify(qtbot, gui,
                                                                    photo_folder):
    with qtbot.waitSignal(gui.session.inference.batch_finished, timeout=TIMEOUT) as finished:
        assert wait_result(qtbot, gui, lambda: drop(gui, url_mime([photo_folder])),
                           name="astronaut.jpg")
    assert (finished.args[0].total, finished.args[0].failed) == (5, 1)
    table = gui.window.batch.table
    tops = [table.item(row, 1).text() for row in range(table.rowCount())]
    assert sum(bool(t) and not t.startswith("⚠") for t in tops) == 4
    assert tops[1].startswith("⚠ the image data is damaged")  # the name is in its own column
    assert gui.window.messages.isVisible() and "broken.jpg" in gui.window.messages.text
    with qtbot.waitSignal(gui.session.inference.request_failed, timeout=TIMEOUT):
        table.setCurrentCell(1, 0)  # click the broken file's row
    assert not gui.window.view.has_image
    assert gui.window.windowTitle() == "broken.jpg - AlexNet GUI"
    wait_result(qtbot, gui, lambda: table.setCurrentCell(2, 0), name="chelsea.jpg")
    assert not gui.window.messages.isVisible()  # the next image loaded fine: the problem is over
    assert any("broken.jpg" in line for line in gui.window.messages.history)


def test_paste_an_image_and_paste_copied_files(qtbot, gui, chelsea_png):
    from PyQt5.QtGui import QImage

    clipboard = QApplication.clipboard()
    clipboard.setImage(QImage(str(chelsea_png)))
    result = wait_result(qtbot, gui, gui.window.actions_.paste.trigger,
                         name="pasted image")
    assert result.image.shape == (300, 451, 3)
    clipboard.setMimeData(url_mime([chelsea_png]))
    wait_result(qtbot, gui, gui.window.actions_.paste.trigger, name="chelsea.png")
    assert str(chelsea_png) == gui.session.settings.recent_files[0]
    clipboard.clear()
    gui.browse.paste()
    assert "no image" in gui.window.statusBar().currentMessage()


def test_topk_and_tencrop_options(qtbot, gui, chelsea_png):
    wait_result(qtbot, gui, lambda: gui.browse.open_paths([chelsea_png]))
    result = wait_result(qtbot, gui, gui.window.actions_.topk[3].trigger)
    assert len(result.prediction.scores) == 3 and len(gui.window.view.scores) == 3
    assert len(gui.window.predictions.bar_texts()) == 3
    result = wait_result(qtbot, gui, gui.window.actions_.tta.trigger)
    assert result.prediction.tta and gui.session.settings.tta


def test_device_menu_switches_inside_the_worker(qtbot, gui):
    assert not gui.window.actions_.devices["cuda"].isEnabled()  # no GPU here
    with qtbot.waitSignal(gui.session.inference.device_changed, timeout=TIMEOUT) as blocker:
        gui.window.actions_.devices["cpu"].trigger()
    assert blocker.args[0].info.device == "cpu"
    assert gui.session.settings.device == "cpu"
    with qtbot.waitSignal(gui.session.inference.device_failed, timeout=TIMEOUT):
        gui.session.inference.set_device("cuda")  # what a stale menu would ask for
    assert "CUDA" in gui.window.messages.text


def test_export_result_csv_and_an_unwritable_folder(qtbot, gui, monkeypatch, tmp_path,
                                                   photo_folder):
    monkeypatch.setattr(dialogs, "open_folder", lambda parent, directory: photo_folder)
    with qtbot.waitSignal(gui.session.inference.batch_finished, timeout=TIMEOUT):
        wait_result(qtbot, gui, gui.window.actions_.open_folder.trigger)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(dialogs, "save_result", lambda parent, suggested: out / "cat.png")
    monkeypatch.setattr(dialogs, "save_csv", lambda parent, suggested: out / "t.csv")
    gui.window.actions_.export_result.trigger()
    status = gui.window.statusBar()
    assert status.currentMessage() == f"Saved cat.png and cat.json in {out}"  # where it saved
    gui.window.actions_.export_csv.trigger()
    assert status.currentMessage() == f"Saved 5 rows to {out / 't.csv'}"
    assert sorted(p.name for p in out.iterdir()) == ["cat.json", "cat.png", "t.csv"]
    assert len((out / "t.csv").read_text().splitlines()) == 6
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(dialogs, "save_result", lambda parent, suggested: locked / "x.png")

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    gui.window.actions_.export_result.trigger()
    assert "Cannot write to" in gui.window.messages.text
    assert list(locked.iterdir()) == []


def test_a_slot_exception_is_shown_not_fatal(gui):
    try:
        raise ValueError("boom")
    except ValueError as exc:
        excepthook.handle_exception(ValueError, exc, exc.__traceback__)
    assert "ValueError: boom" in gui.window.messages.text


def test_extension_points_for_panels_menus_and_frames(qtbot, gui, chelsea_rgb):
    dock = gui.window.add_dock(QLabel("inside"), "Inside the network", object_name="insideDock")
    assert dock.toggleViewAction() in gui.window.actions_.menus["view"].actions()
    tools = gui.window.add_menu("&Extras")  # the app has a Tools menu of its own
    titles = [a.text() for a in gui.window.menuBar().actions()]
    assert titles.index("&Extras") == titles.index("&Help") - 1
    gui.session.set_inspect(InspectOptions(layer="conv2"))  # the options ride on the request
    result = wait_result(qtbot, gui,
                         lambda: gui.session.submit_frame(chelsea_rgb, name="camera"),
                         name="camera")
    assert isinstance(result.views, InsideViews) and result.views.frame
    assert result.views.options.layer == "conv2" and result.views.network.layer == "conv2"
    assert result.image.shape == chelsea_rgb.shape
    assert tools.title() == "&Extras"


def test_full_screen_and_quit(qtbot, gui):
    gui.window.actions_.full_screen.trigger()
    qtbot.waitUntil(gui.window.isFullScreen)
    gui.window.actions_.full_screen.trigger()
    qtbot.waitUntil(lambda: not gui.window.isFullScreen())
    gui.window.actions_.quit.trigger()
    assert not gui.window.isVisible()
    assert not gui.session.inference.thread.isRunning()


def test_dropped_encoded_image_bytes_are_decoded_in_the_worker(qtbot, gui, chelsea_png):
    from PyQt5.QtCore import QMimeData

    mime = QMimeData()
    mime.setData("image/png", chelsea_png.read_bytes())
    result = wait_result(qtbot, gui, lambda: drop(gui, mime),
                         name="pasted image")
    assert result.image.shape == (300, 451, 3)
    ignored = QMimeData()
    ignored.setText("just text")
    assert not drop(gui, ignored)


def test_help_has_a_shortcut_sheet_and_a_user_guide(qtbot, make_gui):
    from alexnet_gui.ui.help import GuideDialog, ShortcutsDialog

    gui = make_gui()
    actions = gui.window.actions_
    help_menu = [a.text() for a in actions.menus["help"].actions()]
    assert "&Keyboard Shortcuts" in help_menu and "&User Guide" in help_menu
    actions.shortcuts.trigger()
    sheet = gui.window.findChild(ShortcutsDialog)
    assert sheet is not None and sheet.isVisible()
    rows = {sheet.table.item(r, 0).text(): sheet.table.item(r, 1).text()
            for r in range(sheet.table.rowCount())}
    assert rows["Next Image"] == "Right" and rows["Quit"] == "Ctrl+Q" and rows["Open"] == "Ctrl+O"
    sheet.close()
    actions.user_guide.trigger()
    guide = gui.window.findChild(GuideDialog)
    assert guide is not None and "alexnet-gui" in guide.browser.toPlainText()
    guide.close()


def test_a_greyed_out_cuda_says_why(qtbot, gui):
    cuda = gui.window.actions_.devices["cuda"]
    if cuda.isEnabled():
        pytest.skip("this machine has a CUDA GPU")
    assert cuda.text().startswith("C&UDA (") and "cuda" in cuda.text().lower()[6:]


def test_panels_never_make_the_window_taller_than_the_screen(qtbot, make_gui):
    from PyQt5.QtWidgets import QDockWidget

    gui = make_gui()
    window = gui.window
    screen = window.screen().availableGeometry()
    start = window.size()
    for name in ("compareDock", "similarDock", "insideDock"):
        window.findChild(QDockWidget, name).toggleViewAction().trigger()
        qtbot.wait(50)
        assert window.frameGeometry().height() <= screen.height(), name
        assert window.height() <= start.height(), name  # the window did not grow
    right = [d for d in window.findChildren(QDockWidget) if d.isVisible()
             and window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]
    tabs = [d for d in window.tabifiedDockWidgets(right[0]) if d.isVisible()]  # Teach is hidden
    assert len(tabs) == len(right) - 1  # tabs, not a stack
    qtbot.waitUntil(lambda: window.view.width() >= window.width() // 2 - 4)  # picture: half


def test_a_saved_size_larger_than_the_screen_is_fitted(qtbot, make_gui):
    gui = make_gui()
    window = gui.window
    window.resize(4000, 3000)
    window.fit_to_screen()
    area = window.screen().availableGeometry()
    assert window.frameGeometry().width() <= area.width()
    assert window.frameGeometry().height() <= area.height()
