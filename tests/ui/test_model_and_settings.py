"""Models in the real window: the Model menu, missing ImageNet weights, and settings on restart."""

from __future__ import annotations

import hashlib

import pytest
from PyQt5.QtCore import QSize

from alexnet_gui.settings import open_store
from alexnet_gui.ui import dialogs
from tests.fixtures.models import SMALL_CLASSES
from tests.ui.helpers import TIMEOUT, wait_result

pytestmark = pytest.mark.integration


def test_open_checkpoints_from_the_model_menu(qtbot, gui, monkeypatch, chelsea_png,
                                              small_checkpoint_file, paper_checkpoint_file):
    wait_result(qtbot, gui, lambda: gui.browse.open_paths([chelsea_png]))
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: small_checkpoint_file)
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT):
        result = wait_result(qtbot, gui, gui.window.actions_.open_weights.trigger)
    assert {s.label for s in result.prediction.scores} == set(SMALL_CLASSES)
    assert gui.window.status.model.text() == "Model: fruit · 3 classes"
    assert gui.session.settings.last_model == str(small_checkpoint_file)
    assert not gui.window.actions_.imagenet.isChecked()
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: paper_checkpoint_file)
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT) as blocker:
        gui.window.actions_.open_weights.trigger()
    assert (blocker.args[0].info.arch, blocker.args[0].info.input_size) == ("paper", 227)


def test_a_bad_weights_file_keeps_the_current_model(qtbot, gui, monkeypatch, tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("not weights")
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: bad)
    with qtbot.waitSignal(gui.session.inference.model_failed, timeout=TIMEOUT):
        gui.window.actions_.open_weights.trigger()
    assert "notes.pth" in gui.window.messages.text
    assert gui.window.status.model.text() == "Model: alexnet-random.pth · 1000 classes"
    assert gui.models.download_dialog is None


def test_imagenet_menu_uses_installed_weights(qtbot, gui, imagenet_weights_installed):
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT) as blocker:
        gui.window.actions_.imagenet.trigger()
    assert blocker.args[0].info.name == "ImageNet (torchvision)" and blocker.args[0].weights is None
    assert gui.window.actions_.imagenet.isChecked() and gui.session.settings.last_model == ""


def test_missing_imagenet_weights_offers_a_download(qtbot, make_gui, weights_server,
                                                    state_dict_file, chelsea_png):
    body = state_dict_file.read_bytes()
    name = f"alexnet-mirror-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    gui = make_gui(download_url=weights_server.add(f"/{name}", body))
    with qtbot.waitSignal(gui.session.inference.model_failed, timeout=TIMEOUT) as blocker:
        gui.start()
    assert blocker.args[0].missing_imagenet
    dialog = gui.models.download_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    # the app stays usable: the picture is shown, with a message instead of classes
    shown = wait_result(qtbot, gui, lambda: gui.browse.open_paths([chelsea_png]),
                        classified=False)
    assert shown.prediction is None and "No model" in shown.message
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=60_000) as loaded:
        dialog.download_button.click()
    assert loaded.args[0].info.name == name
    assert not dialog.isVisible()
    session = gui.session
    qtbot.waitUntil(lambda: session.result is not None and session.result.prediction is not None,
                    timeout=TIMEOUT)  # the open picture is classified once the model is there


def test_offline_download_says_so_and_a_local_file_can_be_chosen(
        qtbot, make_gui, refused_url, monkeypatch, state_dict_file):
    gui = make_gui(download_url=refused_url)
    with qtbot.waitSignal(gui.session.inference.model_failed, timeout=TIMEOUT):
        gui.start()
    dialog = gui.models.download_dialog
    dialog.download_button.click()
    assert dialog.downloading and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=TIMEOUT)
    assert "offline" in dialog.status.text() and "\n" not in dialog.status.text()
    assert dialog.download_button.isEnabled() and dialog.download_button.text() == "Try again"
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: state_dict_file)
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT):
        dialog.choose_button.click()
    assert not dialog.isVisible()


def test_settings_survive_a_restart(qtbot, make_gui, settings_store, tmp_path,
                                    state_dict_file, chelsea_png):
    first = make_gui()
    with qtbot.waitSignal(first.session.inference.model_loaded, timeout=TIMEOUT):
        first.start(weights=str(state_dict_file))
    wait_result(qtbot, first, lambda: first.browse.open_paths([chelsea_png]))
    first.window.actions_.topk[7].trigger()
    first.window.actions_.tta.trigger()
    with qtbot.waitSignal(first.session.inference.device_changed, timeout=TIMEOUT):
        first.window.actions_.devices["cpu"].trigger()
    first.window.resize(700, 500)  # the offscreen screen is 800x600: a size that fits
    first.window.batch.parentWidget().hide()  # the folder dock, closed by the user
    first.window.close()

    second = make_gui(store=open_store(settings_store.fileName()))
    s = second.session.settings
    assert (s.device, s.topk, s.tta) == ("cpu", 7, True)
    assert s.recent_files[0] == str(chelsea_png) and s.last_folder == str(chelsea_png.parent)
    assert s.last_model == str(state_dict_file)
    assert second.window.actions_.topk[7].isChecked() and second.window.actions_.tta.isChecked()
    assert second.window.actions_.devices["cpu"].isChecked()
    assert second.window.size() == QSize(700, 500)
    assert second.window.batch.parentWidget().isHidden()
    recent = [a.text() for a in second.window.actions_.menus["recent"].actions()]
    assert recent[0] == str(chelsea_png)
    with qtbot.waitSignal(second.session.inference.model_loaded, timeout=TIMEOUT) as blocker:
        second.start()  # no --weights: the last model comes back
    assert blocker.args[0].weights == state_dict_file
    result = wait_result(qtbot, second, second.window.actions_.menus["recent"].actions()[0].trigger)
    assert len(result.prediction.scores) == 7 and result.prediction.tta


def test_download_can_be_cancelled_from_the_dialog(qtbot, make_gui, weights_server,
                                                   tmp_path):
    body = b"z" * (64 * 1024 * 200)
    name = f"alexnet-slow-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    gui = make_gui(download_url=weights_server.add(f"/{name}", body, delay=0.05))
    with qtbot.waitSignal(gui.session.inference.model_failed, timeout=TIMEOUT):
        gui.start()
    dialog = gui.models.download_dialog
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=TIMEOUT)
    assert "MB" in dialog.status.text()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=TIMEOUT)
    assert "cancelled" in dialog.status.text()
    assert dialog.isVisible() and gui.session.model is None


def test_official_download_loads_as_imagenet(qtbot, qapp, monkeypatch, tmp_path):
    """Without a mirror URL the file lands where ImageNet weights are looked for: load those."""
    import alexnet_gui.core.models.download as download
    from alexnet_gui.ui.download_dialog import DownloadDialog
    from alexnet_gui.workers.jobs import JobRunner

    def fake_download(url, **kwargs):
        assert url is None
        kwargs["progress"](1, 1)
        return tmp_path / "alexnet-owt-7be5be79.pth"

    monkeypatch.setattr(download, "download_weights", fake_download)
    runner = JobRunner()
    dialog = DownloadDialog(None, jobs=runner, message="ImageNet weights not found.")
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.weights_ready, timeout=TIMEOUT) as blocker:
        dialog.download_button.click()
    assert blocker.args == [None]
    assert runner.shutdown(5000)
