"""Model > Export…: the dialog fills in the current model, starts one job, and reports the file
written or the reason it was not (with fake jobs); and once through the real window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt5.QtWidgets import QAction, QWidget

from alexnet_gui.core.export.exporter import ExportReport
from alexnet_gui.ui import export_model
from alexnet_gui.ui.export_model import ExportModelController
from alexnet_gui.workers.export_job import ExportJob
from tests.ui.fakes import fake_session
from tests.ui.helpers import TIMEOUT


@pytest.fixture
def controller(qtbot, tmp_path: Path):
    session, _client = fake_session(tmp_path)
    session.update_settings(last_model=str(tmp_path / "models" / "fruit.pth"))
    parent = QWidget()
    qtbot.addWidget(parent)
    action = QAction("Export Model…", parent)
    made: list[ExportJob] = []

    def make_job(*args, **kwargs) -> ExportJob:
        made.append(ExportJob(*args, **kwargs))
        return made[-1]

    controller = ExportModelController(session, action=action, make_job=make_job,
                                       dialog_parent=parent)
    controller.parent_widget = parent  # qtbot holds widgets weakly; the dialog is its child
    return controller, session, action, made


def _report(path: Path, **extra) -> ExportReport:
    return ExportReport(format="onnx", path=path, files=(path,), precision="fp32", opset=17,
                        seconds=3.2, size_bytes=228_000_000, classes=3, source="fruit.pth",
                        checked_on=8, max_abs_diff=1.5e-5, **extra)


def test_the_menu_item_opens_the_dialog_with_a_name_beside_the_model(controller, tmp_path):
    ctrl, _session, action, _made = controller
    action.trigger()
    dialog = ctrl.dialog
    assert dialog.isVisible() and "fruit" in dialog.model_label.text()
    assert Path(dialog.file.text()) == tmp_path / "models" / "fruit.onnx"
    dialog.format.setCurrentIndex(dialog.format.findData("openvino"))
    dialog.int8.setChecked(True)
    assert Path(dialog.file.text()) == tmp_path / "models" / "fruit-int8.xml"


def test_export_starts_one_job_and_reports_where_the_file_went(controller, qtbot, tmp_path):
    ctrl, session, action, made = controller
    action.trigger()
    dialog = ctrl.dialog
    out = tmp_path / "out" / "mine.onnx"
    dialog.file.setText(str(out))
    dialog.export_button.click()
    dialog.export_button.click()  # ignored: one export at a time
    assert session.jobs.started == made and len(made) == 1
    job = made[0]
    assert (job.weights, job.fmt, job.out, job.int8) == (
        tmp_path / "models" / "fruit.pth", "onnx", out, False)
    assert not dialog.export_button.isEnabled() and dialog.cancel_button.isEnabled()
    job.stage_changed.emit("Converting to ONNX…")
    job.progressed.emit(2, 4)
    assert dialog.status.text() == "Converting to ONNX…" and dialog.progress.value() == 2
    with qtbot.waitSignal(session.status_posted) as posted:
        job.completed.emit(_report(out))
    job.ended.emit()
    assert posted.args[0] == f"Model exported to {out}"
    assert str(out) in dialog.status.text() and "opset 17" in dialog.status.text()
    assert dialog.export_button.isEnabled() and not dialog.progress.isVisible()


def test_a_failure_is_said_in_the_dialog_and_cancel_asks_the_job(controller, tmp_path):
    ctrl, _session, action, made = controller
    action.trigger()
    ctrl.dialog.export_button.click()
    job = made[0]
    ctrl.dialog.cancel_button.click()
    assert job.is_cancelled()
    job.failed.emit("cannot write in /read-only: Permission denied")
    job.ended.emit()
    assert ctrl.dialog.status.text().startswith("Not exported: cannot write")
    assert ctrl.dialog.export_button.isEnabled()


def test_an_int8_warning_is_shown(controller, tmp_path):
    ctrl, _session, action, made = controller
    action.trigger()
    ctrl.dialog.export_button.click()
    made[0].completed.emit(_report(tmp_path / "m.onnx", agreement=0.9))
    assert "Warning: int8 agrees with fp32 on only 90.0%" in ctrl.dialog.status.text()


def test_browse_sets_the_file(controller, monkeypatch, tmp_path):
    ctrl, _session, action, _made = controller
    action.trigger()
    chosen = tmp_path / "elsewhere" / "model.xml"
    monkeypatch.setattr(export_model, "choose_export_file", lambda parent, suggested, fmt: chosen)
    ctrl.dialog.browse.click()
    ctrl.dialog.int8.setChecked(True)  # a chosen name is kept, only its suffix follows
    assert Path(ctrl.dialog.file.text()) == chosen.with_suffix(".onnx")


@pytest.mark.integration
@pytest.mark.slow
def test_export_from_the_real_window_writes_a_checked_file(qtbot, gui, tmp_path):
    ctrl = gui.window.findChild(ExportModelController)
    gui.window.actions_.export_model.trigger()
    out = tmp_path / "exported.onnx"
    ctrl.dialog.file.setText(str(out))
    with qtbot.waitSignal(ctrl.dialog.exported, timeout=TIMEOUT * 4) as blocker:
        ctrl.dialog.export_button.click()
    report = blocker.args[0]
    assert report.path == out and out.is_file() and report.classes == 1000
    qtbot.waitUntil(lambda: ctrl.dialog.export_button.isEnabled(), timeout=TIMEOUT)
    assert str(out) in ctrl.dialog.status.text()
