"""The unit view: a click on a map selects the unit, fc units by index, the jobs follow the unit.

Views come from the real inspector on the tiny classifier; jobs are fakes the test completes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PyQt5.QtCore import QObject, pyqtSignal

from alexnet_gui.core.results import ModelInfo
from alexnet_gui.core.visualize.inspector import NetworkInspector
from alexnet_gui.core.visualize.units.maximise import MaximisedUnit, MaximiseSettings
from alexnet_gui.messages import InsideViews, InspectOptions, ModelStatus
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.inside.features_tab import FeaturesTab
from alexnet_gui.ui.inside.unit_controller import UnitController
from alexnet_gui.ui.inside.unit_view import UnitView
from alexnet_gui.ui.widgets import grid_view
from alexnet_gui.ui.widgets.qimage import qimage_to_array
from alexnet_gui.workers.unit_jobs import TopPatch, TopPatches
from tests.fixtures.tiny import tiny_classifier
from tests.ui.fakes import fake_session


@pytest.fixture(scope="module")
def look():
    classifier, inspector = tiny_classifier(), NetworkInspector()
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3),
                                                                dtype=np.uint8))

    def look(options: InspectOptions) -> InsideViews:
        return inspector.look(classifier, picture, options)[1]

    return look


@pytest.fixture
def tab(qtbot):
    tab = FeaturesTab()
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def test_clicking_a_map_selects_its_unit_and_the_view_paints_it(qtbot, tab, look):
    tab.layer.addItem("relu1")
    tab.layer.setCurrentText("relu1")
    tab.show_views(look(InspectOptions(layer="relu1")))
    features = tab.features
    assert features is not None and features.layer == "relu1"
    x, y = features.geometry.origin(features.order.index(2))
    with qtbot.waitSignal(tab.options_edited):
        tab.grid.clicked.emit(x + 1.0, y + 1.0)
    assert tab.channel == 2 and tab.unit_view.selected == ("relu1", 2)
    assert tab.option_fields()["unit_layer"] is None  # the Map page is shown: no backprop
    with qtbot.waitSignal(tab.options_edited):
        tab.below.setCurrentWidget(tab.unit_page)
    fields = tab.option_fields()
    assert (fields["unit_layer"], fields["unit"], fields["unit_mode"]) == ("relu1", 2, "guided")
    views = look(InspectOptions(layer="relu1", channel=2, **{k: fields[k] for k in
                                                             ("unit_layer", "unit", "unit_mode")}))
    assert views.unit is not None and views.unit.image is not None
    tab.show_views(views)
    view = tab.unit_view
    np.testing.assert_array_equal(qimage_to_array(view.backprop.qimage), views.unit.image)
    assert view.unit.maximum() == 3
    assert view.strongest.text().startswith("Unit 2 of 4: ")
    assert view.backprop.save_name == "unit-relu1-2-guided.png"
    view.mode.setCurrentIndex(view.mode.findData("deconv"))
    assert tab.option_fields()["unit_mode"] == "deconv"
    view.pages.setCurrentWidget(view.top9)
    assert tab.option_fields()["unit_layer"] is None  # the backprop page is not on screen


def test_fc_units_are_chosen_by_index(qtbot, look):
    view = UnitView()
    qtbot.addWidget(view)
    view.set_layers(("conv1", "relu1"))
    assert [view.layer.itemText(i) for i in range(view.layer.count())] == [
        "conv1", "relu1", "fc6", "relu6", "fc7", "relu7", "fc8"]
    with qtbot.waitSignal(view.unit_changed):
        view.layer.setCurrentText("fc6")
    view.unit.setValue(1)
    assert view.option_fields(active=True)["unit_layer"] == "fc6"
    views = look(InspectOptions(unit_layer="fc6", unit=1))
    view.show_unit(views.unit)
    assert "Unit 1 of 3" in view.strongest.text() and view.backprop.qimage is not None
    view.show_unit(look(InspectOptions(unit_layer="fc6", unit=0)).unit)  # not the selected one
    np.testing.assert_array_equal(qimage_to_array(view.backprop.qimage), views.unit.image)


class FakeJob(QObject):
    stage_changed = pyqtSignal(str)
    progressed = pyqtSignal("qint64", "qint64")
    completed = pyqtSignal(object)
    failed = pyqtSignal(str)
    ended = pyqtSignal()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.args, self.kwargs, self.cancelled = args, kwargs, False

    def cancel(self) -> None:
        self.cancelled = True


def finish(job: FakeJob, result: object) -> None:
    job.completed.emit(result)
    job.ended.emit()


@pytest.fixture
def controlled(qtbot, tmp_path, monkeypatch):
    session, _ = fake_session(tmp_path)
    view = UnitView()
    qtbot.addWidget(view)
    controller = UnitController(session, view=view, make_top=FakeJob, make_maximise=FakeJob,
                                dialog_parent=view)
    monkeypatch.setattr(dialogs, "choose_folder", lambda *_args: tmp_path)
    return session, view, controller


def top_result(folder: Path, layer: str, unit: int) -> TopPatches:
    grid = np.full((30, 40, 3), unit * 10, dtype=np.uint8)
    return TopPatches(folder, layer, unit, grid, (TopPatch(folder / "a.png", 2.5, 1, 2),), 11,
                      indexed=4, computed=4, failed=0)


def test_top9_follows_the_unit_and_saves_as_png(qtbot, controlled, tmp_path, monkeypatch):
    session, view, _controller = controlled
    assert session.jobs.started == []  # no folder yet: nothing searched
    view.top9.run_button.click()
    job = session.jobs.started[-1]
    assert job.args == (tmp_path, "conv1", 0) and view.top9.cancel_button.isEnabled()
    view.select("conv1", 5)  # chosen while the search runs: it waits for it
    assert [j.args for j in session.jobs.started if j.args[0] == tmp_path] == [
        (tmp_path, "conv1", 0)]
    finish(job, top_result(tmp_path, "conv1", 0))
    assert view.top9.view.qimage is None  # conv1 0 is no longer selected
    follow_up = next(j for j in reversed(session.jobs.started) if j.args[0] == tmp_path)
    assert follow_up.args == (tmp_path, "conv1", 5)
    view.top9.cancel_button.click()
    assert follow_up.cancelled
    finish(follow_up, top_result(tmp_path, "conv1", 5))
    np.testing.assert_array_equal(qimage_to_array(view.top9.view.qimage),
                                  top_result(tmp_path, "conv1", 5).grid)
    assert view.top9.status.text() == "Best of 4 images (4 new), 11 px patches; hover for names."
    assert view.top9.view.toolTip() == "1. a.png: 2.5"
    assert not view.top9.cancel_button.isEnabled() and view.top9.run_button.isEnabled()
    tuned = tmp_path / "tuned.pt"
    info = ModelInfo(name="tuned.pt", arch="torchvision", num_classes=2, source=str(tuned),
                     input_size=224,
                     device="cpu")
    session.inference.model_loaded.emit(ModelStatus(info, tuned))  # other weights: again
    again = next(j for j in reversed(session.jobs.started) if j.args[0] == tmp_path)
    assert again.args == (tmp_path, "conv1", 5) and again.kwargs["weights"] == tuned
    assert view.top9.view.qimage is None
    finish(again, top_result(tmp_path, "conv1", 5))
    target = tmp_path / "saved.png"
    monkeypatch.setattr(grid_view, "ask_png_path", lambda _parent, suggested: target)
    assert view.top9.view.save_name == "unit-conv1-5-top9.png"
    assert view.top9.view.save_png() == target
    assert np.asarray(Image.open(target)).shape == (30, 40, 3)


def test_the_optimised_image_is_looked_up_then_computed(qtbot, controlled):
    session, view, _controller = controlled
    view.select("fc7", 2)
    assert session.jobs.started == []  # the page is not shown: nothing looked up
    view.show()
    qtbot.waitExposed(view)
    view.pages.setCurrentWidget(view.optimised)
    assert session.jobs.started[-1].args == ("fc7", 2)
    finish(session.jobs.started[-1], None)
    view.select("fc7", 3)
    lookup = session.jobs.started[-1]
    assert lookup.args == ("fc7", 3) and lookup.kwargs["cache_only"]
    finish(lookup, None)
    assert "press Optimise" in view.optimised.status.text()
    view.steps.setValue(40)
    view.optimised.run_button.click()
    job = session.jobs.started[-1]
    assert job.args == ("fc7", 3) and job.kwargs["steps"] == 40 and not job.kwargs["cache_only"]
    job.progressed.emit(10, 40)
    assert view.optimised.progress.value() == 10 and not view.optimised.progress.isHidden()
    image = np.zeros((224, 224, 3), dtype=np.uint8)
    finish(job, MaximisedUnit("fc7", 3, image, 0.1, 7.5, MaximiseSettings(steps=40)))
    assert view.optimised.view.qimage is not None
    assert "0.1 at the random start, 7.5 after 40 steps" in view.optimised.status.text()
    view.optimised.run_button.click()
    failing = session.jobs.started[-1]
    failing.failed.emit("Optimisation cancelled.")
    failing.ended.emit()
    assert view.optimised.status.text() == "Optimisation cancelled."


@pytest.mark.integration
def test_in_the_window_a_clicked_map_gets_its_backprop_image(qtbot, gui, chelsea_png):
    from PyQt5.QtWidgets import QDockWidget

    from alexnet_gui.messages import FileSource
    from alexnet_gui.ui.inside.panel import DOCK_NAME, InsidePanel
    from tests.ui.helpers import TIMEOUT

    panel = gui.window.findChild(InsidePanel)
    gui.window.findChild(QDockWidget, DOCK_NAME).show()
    panel.tabs.setCurrentWidget(panel.features)
    tab = panel.features
    tab.below.setCurrentWidget(tab.unit_page)
    with qtbot.waitSignal(panel.views_painted, timeout=TIMEOUT):
        gui.session.submit(FileSource(chelsea_png))
    features = tab.features
    assert features is not None
    x, y = features.geometry.origin(features.order.index(7))
    with qtbot.waitSignal(panel.views_painted, timeout=TIMEOUT,
                          check_params_cb=lambda v: v.unit is not None and v.unit.unit == 7
                          ) as blocker:
        tab.grid.clicked.emit(x + 1.0, y + 1.0)
    unit = blocker.args[0].unit
    assert (unit.layer, unit.count) == (features.layer, features.geometry.count)
    np.testing.assert_array_equal(qimage_to_array(tab.unit_view.backprop.qimage), unit.image)
