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


def test_open_checkpoints_from_the_model_menu(qtbot, main_window, monkeypatch, chelsea_png,
                                              small_checkpoint_file, paper_checkpoint_file):
    wait_result(qtbot, main_window, lambda: main_window.open_paths([chelsea_png]))
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: small_checkpoint_file)
    with qtbot.waitSignal(main_window.inference.model_loaded, timeout=TIMEOUT):
        result = wait_result(qtbot, main_window, main_window.actions_.open_weights.trigger)
    assert {s.label for s in result.prediction.scores} == set(SMALL_CLASSES)
    assert main_window.status.model.text() == "Model: fruit · 3 classes"
    assert main_window.settings.last_model == str(small_checkpoint_file)
    assert not main_window.actions_.imagenet.isChecked()
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: paper_checkpoint_file)
    with qtbot.waitSignal(main_window.inference.model_loaded, timeout=TIMEOUT) as blocker:
        main_window.actions_.open_weights.trigger()
    assert (blocker.args[0].info.arch, blocker.args[0].info.input_size) == ("paper", 227)


def test_a_bad_weights_file_keeps_the_current_model(qtbot, main_window, monkeypatch, tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("not weights")
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: bad)
    with qtbot.waitSignal(main_window.inference.model_failed, timeout=TIMEOUT):
        main_window.actions_.open_weights.trigger()
    assert "notes.pth" in main_window.messages.text
    assert main_window.status.model.text() == "Model: alexnet-random.pth · 1000 classes"
    assert main_window.download_dialog is None


def test_imagenet_menu_uses_installed_weights(qtbot, main_window, imagenet_weights_installed):
    with qtbot.waitSignal(main_window.inference.model_loaded, timeout=TIMEOUT) as blocker:
        main_window.actions_.imagenet.trigger()
    assert blocker.args[0].info.name == "ImageNet (torchvision)" and blocker.args[0].weights is None
    assert main_window.actions_.imagenet.isChecked() and main_window.settings.last_model == ""


def test_missing_imagenet_weights_offers_a_download(qtbot, make_main_window, weights_server,
                                                    state_dict_file, chelsea_png):
    body = state_dict_file.read_bytes()
    name = f"alexnet-mirror-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    window = make_main_window(download_url=weights_server.add(f"/{name}", body))
    with qtbot.waitSignal(window.inference.model_failed, timeout=TIMEOUT) as blocker:
        window.start()
    assert blocker.args[0].missing_imagenet
    dialog = window.download_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    # the app stays usable: the picture is shown, with a message instead of classes
    shown = wait_result(qtbot, window, lambda: window.open_paths([chelsea_png]),
                        classified=False)
    assert shown.prediction is None and "No model" in shown.message
    with qtbot.waitSignal(window.inference.model_loaded, timeout=60_000) as loaded:
        dialog.download_button.click()
    assert loaded.args[0].info.name == name
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: window.result is not None and window.result.prediction is not None,
                    timeout=TIMEOUT)  # the open picture is classified once the model is there


def test_offline_download_says_so_and_a_local_file_can_be_chosen(
        qtbot, make_main_window, refused_url, monkeypatch, state_dict_file):
    window = make_main_window(download_url=refused_url)
    with qtbot.waitSignal(window.inference.model_failed, timeout=TIMEOUT):
        window.start()
    dialog = window.download_dialog
    dialog.download_button.click()
    assert dialog.downloading and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=TIMEOUT)
    assert "offline" in dialog.status.text() and "\n" not in dialog.status.text()
    assert dialog.download_button.isEnabled() and dialog.download_button.text() == "Try again"
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, d: state_dict_file)
    with qtbot.waitSignal(window.inference.model_loaded, timeout=TIMEOUT):
        dialog.choose_button.click()
    assert not dialog.isVisible()


def test_settings_survive_a_restart(qtbot, make_main_window, settings_store, tmp_path,
                                    state_dict_file, chelsea_png):
    first = make_main_window()
    with qtbot.waitSignal(first.inference.model_loaded, timeout=TIMEOUT):
        first.start(weights=str(state_dict_file))
    wait_result(qtbot, first, lambda: first.open_paths([chelsea_png]))
    first.actions_.topk[7].trigger()
    first.actions_.tta.trigger()
    with qtbot.waitSignal(first.inference.device_changed, timeout=TIMEOUT):
        first.actions_.devices["cpu"].trigger()
    first.resize(900, 650)
    first.batch.parentWidget().hide()  # the folder dock, closed by the user
    first.close()

    second = make_main_window(store=open_store(settings_store.fileName()))
    s = second.settings
    assert (s.device, s.topk, s.tta) == ("cpu", 7, True)
    assert s.recent_files[0] == str(chelsea_png) and s.last_folder == str(chelsea_png.parent)
    assert s.last_model == str(state_dict_file)
    assert second.actions_.topk[7].isChecked() and second.actions_.tta.isChecked()
    assert second.actions_.devices["cpu"].isChecked()
    assert second.size() == QSize(900, 650)
    assert second.batch.parentWidget().isHidden()
    recent = [a.text() for a in second.actions_.menus["recent"].actions()]
    assert recent[0] == str(chelsea_png)
    with qtbot.waitSignal(second.inference.model_loaded, timeout=TIMEOUT) as blocker:
        second.start()  # no --weights: the last model comes back
    assert blocker.args[0].weights == state_dict_file
    result = wait_result(qtbot, second, second.actions_.menus["recent"].actions()[0].trigger)
    assert len(result.prediction.scores) == 7 and result.prediction.tta


def test_download_can_be_cancelled_from_the_dialog(qtbot, make_main_window, weights_server,
                                                   tmp_path):
    body = b"z" * (64 * 1024 * 200)
    name = f"alexnet-slow-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    window = make_main_window(download_url=weights_server.add(f"/{name}", body, delay=0.05))
    with qtbot.waitSignal(window.inference.model_failed, timeout=TIMEOUT):
        window.start()
    dialog = window.download_dialog
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=TIMEOUT)
    assert "MB" in dialog.status.text()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=TIMEOUT)
    assert "cancelled" in dialog.status.text()
    assert dialog.isVisible() and window.model is None


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
