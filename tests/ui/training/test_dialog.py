"""Model > Train on Folder: a real (tiny) training run in its job thread, cancel and resume,
and a bad folder reported in the dialog.

Runs train at input size 64 on a few dozen generated images: about a second per batch of 8 on
two CPU cores, most of it AlexNet's fc6 and fc7.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt5.QtWidgets import QDialog

from alexnet_gui.ui import dialogs
from alexnet_gui.ui.training.dialog import TrainDialog
from alexnet_gui.workers.jobs import JobRunner
from alexnet_gui.workers.training_job import TrainingJob
from tests.fixtures.datasets import write_colour_dataset
from tests.ui.helpers import TIMEOUT

pytestmark = pytest.mark.integration
TRAIN_TIMEOUT = 90_000


@pytest.fixture
def runner(qapp):
    runner = JobRunner()
    yield runner
    assert runner.shutdown(30_000)


@pytest.fixture
def dialog(qtbot, runner, tmp_path) -> TrainDialog:
    dialog = TrainDialog(None, jobs=runner, make_job=TrainingJob, directory=str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def small_run(dialog: TrainDialog, *, epochs: int = 1, batch: int = 8) -> None:
    """From scratch (there are no ImageNet weights in tests), at 64 px."""
    form = dialog.form
    form.start.setCurrentIndex(form.start.findData("scratch"))
    form.epochs.setValue(epochs)
    form.batch_size.setValue(batch)
    form.input_size.setValue(64)


def test_train_shows_progress_and_the_model_loads(qtbot, gui, monkeypatch, tmp_path):
    data = write_colour_dataset(tmp_path / "colours", ("red", "blue"), per_class=12)
    train_action = next(a for a in gui.window.actions_.menus["model"].actions()
                        if a.text() == "&Train on Folder…")
    train_action.trigger()
    dialog = gui.window.findChild(QDialog, "trainDialog")
    assert isinstance(dialog, TrainDialog) and dialog.isVisible()
    monkeypatch.setattr(dialogs, "choose_folder", lambda parent, title, directory: data)
    dialog.form.data_button.click()
    assert dialog.form.out.text() == str(tmp_path / "colours-alexnet.pt")  # suggested
    small_run(dialog)
    with qtbot.waitSignal(dialog.run_finished, timeout=TRAIN_TIMEOUT) as blocker:
        dialog.train_button.click()
        assert dialog.running and not dialog.train_button.isEnabled()
    result = blocker.args[0]
    assert not result.cancelled and result.checkpoint == tmp_path / "colours-alexnet.pt"
    assert dialog.progress.value() == 1000 and "Done" in dialog.status.text()
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 5).text() == "best"
    assert dialog.plot.loss and len(dialog.plot.train_acc) == len(dialog.plot.val_acc) == 1
    assert not dialog.plot.grab().isNull()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT)
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT) as loaded:
        dialog.use_button.click()
    assert loaded.args[0].info.categories == ("blue", "red")
    assert gui.session.settings.last_model == str(result.checkpoint)
    assert "Loading" not in dialog.status.text()  # not left saying so once it has loaded
    assert dialog.status.text() == "colours-alexnet.pt is now the main window's model."


def test_cancel_keeps_the_resumable_state_and_resume_continues(qtbot, dialog, tmp_path):
    data = write_colour_dataset(tmp_path / "colours", ("red", "blue"), per_class=6)
    out = tmp_path / "model.pt"
    dialog.form.data_dir.setText(str(data))
    dialog.form.out.setText(str(out))
    assert not dialog.form.resume.isEnabled()  # nothing to resume yet
    small_run(dialog, epochs=3, batch=4)
    with qtbot.waitSignal(dialog.run_finished, timeout=TRAIN_TIMEOUT) as blocker:
        dialog.train_button.click()
        qtbot.waitUntil(lambda: "training" in dialog.progress.format(), timeout=TRAIN_TIMEOUT)
        dialog.cancel_button.click()
    result = blocker.args[0]
    assert result.cancelled and result.resume_file == Path(f"{out}.last")
    assert result.resume_file.is_file() and "Cancelled" in dialog.status.text()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT)
    assert dialog.form.resume.isEnabled() and dialog.train_button.isEnabled()
    dialog.form.resume.setChecked(True)
    dialog.form.epochs.setValue(1)
    with qtbot.waitSignal(dialog.run_finished, timeout=TRAIN_TIMEOUT) as blocker:
        dialog.train_button.click()
    resumed = blocker.args[0]
    assert not resumed.cancelled and resumed.checkpoint == out and out.is_file()
    assert dialog.use_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TIMEOUT)


def test_a_bad_folder_is_a_message_in_the_dialog(qtbot, dialog, tmp_path):
    dialog.train_button.click()
    assert "folder of training images" in dialog.status.text() and not dialog.running
    flat = write_colour_dataset(tmp_path / "flat", ("red",), per_class=2) / "red"
    dialog.form.data_dir.setText(str(flat))
    dialog.form.out.setText(str(tmp_path / "model.pt"))
    small_run(dialog)
    dialog.train_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_TIMEOUT)
    assert "no class folders" in dialog.status.text()
    assert dialog.progress.format() == "Failed" and dialog.form.isEnabled()
    assert not dialog.use_button.isEnabled() and dialog.train_result is None


def test_save_as_a_folder_says_so_plainly(qtbot, dialog, tmp_path):
    data = write_colour_dataset(tmp_path / "colours", ("red", "blue"), per_class=2)
    dialog.form.data_dir.setText(str(data))
    dialog.form.out.setText("/")  # typed: no "Unexpected error" from the live check
    assert not dialog.form.resume.isEnabled()
    dialog.train_button.click()
    assert not dialog.running
    assert dialog.status.text().startswith("Save as: / is a folder; add a file name")
    dialog.form.out.setText(str(tmp_path / "missing" / "m.pt"))
    dialog.train_button.click()
    assert "does not exist" in dialog.status.text() and not dialog.running


def test_the_epoch_table_says_time_is_cumulative_and_shows_saved_whole(qtbot, dialog):
    from PyQt5.QtWidgets import QApplication

    from alexnet_gui.core.training.state import TrainProgress

    dialog.resize(dialog.minimumSizeHint())
    QApplication.processEvents()
    header = dialog.table.horizontalHeader()
    names = [dialog.table.horizontalHeaderItem(c).text() for c in range(header.count())]
    assert names[4] == "Time (total)"
    dialog._add_epoch_row(TrainProgress("epoch", 10, 10, loss=0.5, train_acc=1.0, val_acc=1.0,
                                        elapsed_s=12345.6, is_best=True))
    QApplication.processEvents()
    saved = header.count() - 1
    right = header.sectionViewportPosition(saved) + header.sectionSize(saved)
    assert right <= dialog.table.viewport().width()
    assert header.sectionSize(saved) >= header.fontMetrics().horizontalAdvance("Saved") + 8
