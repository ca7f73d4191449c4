"""The Explain tab with a fake session: its options, any class, the slow methods' job, saving.

The job is a fake with the real job's signals: the test plays its part (progress, result), so
what is checked is the tab and :class:`SlowExplainer`, not the computation (tests/workers has
the real job, tests/ui/inside/test_panel.py the real window).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import QDockWidget

from alexnet_gui.core.results import ModelInfo
from alexnet_gui.core.visualize.explain import Explanation
from alexnet_gui.core.visualize.inside import ExplanationView
from alexnet_gui.core.visualize.inspector import NetworkInspector
from alexnet_gui.messages import (
    ClassifyResult,
    FileSource,
    FrameSource,
    InspectOptions,
    ModelStatus,
)
from alexnet_gui.ui.export import export_result
from alexnet_gui.ui.inside.controller import InsideController
from alexnet_gui.ui.inside.explain_tab import METHOD_LABELS, find_class
from alexnet_gui.ui.inside.panel import InsidePanel
from alexnet_gui.ui.widgets import grid_view
from alexnet_gui.ui.widgets.image_view import ImageView
from alexnet_gui.ui.widgets.qimage import qimage_to_array
from alexnet_gui.workers.explain_job import ExplainResult
from tests.ui.fakes import fake_session

CATEGORIES = ("tabby", "tiger cat", "Persian cat", "dog", "car")
INFO = ModelInfo("m", "torchvision", 5, "x", 224, "cpu", CATEGORIES)


class FakeJob(QObject):
    """The ExplainJob's signals and cancel(); nothing runs."""

    stage_changed = pyqtSignal(str)
    progressed = pyqtSignal("qint64", "qint64")
    completed = pyqtSignal(object)
    failed = pyqtSignal(str)
    ended = pyqtSignal()

    def __init__(self, source: Any, options: InspectOptions, **kwargs: Any) -> None:
        super().__init__()
        self.source, self.options, self.kwargs = source, options, kwargs
        self.key = kwargs["key"]
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def finish(self, view: ExplanationView, seconds: float = 2.0) -> None:
        self.completed.emit(ExplainResult(self.key, view, seconds, 257))
        self.ended.emit()


@pytest.fixture(scope="module")
def views(imagenet_like_classifier, chelsea_rgb):
    options = InspectOptions(gradcam=True, method="layercam")
    return NetworkInspector().look(imagenet_like_classifier, Image.fromarray(chelsea_rgb),
                                   options)[1]


@pytest.fixture(scope="module")
def slow_views(imagenet_like_classifier, chelsea_rgb):
    """Views asked for Score-CAM: no map, but the worker's estimate of its time."""
    options = InspectOptions(gradcam=True, method="scorecam")
    return NetworkInspector().look(imagenet_like_classifier, Image.fromarray(chelsea_rgb),
                                   options)[1]


def explanation(method: str = "scorecam", class_index: int = 1, seed: int = 0) -> ExplanationView:
    rng = np.random.default_rng(seed)
    cam = Explanation(method, "relu5", class_index, 0.25, rng.random((224, 224), np.float32))
    crop = rng.integers(0, 255, (224, 224, 3), np.uint8)
    picture = rng.integers(0, 255, (300, 400, 3), np.uint8)
    return ExplanationView(cam, CATEGORIES[class_index], 0.25, crop, picture, (0, 0, 1, 1))


@pytest.fixture
def inside(qtbot, tmp_path):
    """A controller over a fake session; the dock shown, the Explain tab current, a model."""
    session, client = fake_session(tmp_path)
    panel = InsidePanel()
    dock = QDockWidget()
    dock.setWidget(panel)
    qtbot.addWidget(dock)
    jobs: list[FakeJob] = []

    def make_job(*args: Any, **kwargs: Any) -> FakeJob:
        jobs.append(FakeJob(*args, **kwargs))
        return jobs[-1]

    controller = InsideController(session, panel=panel, dock=dock, view=ImageView(),
                                  make_explain_job=make_job)
    client.model_loaded.emit(ModelStatus(INFO, None))
    dock.show()
    qtbot.waitExposed(dock)
    panel.tabs.setCurrentWidget(panel.gradcam)
    return session, client, panel, controller, jobs, dock  # the dock: kept alive


def show_still(session, source) -> None:
    """Submit ``source`` and play the result that the worker would send back."""
    session.submit(source)
    image = np.zeros((300, 400, 3), np.uint8)
    session.show_result(ClassifyResult(session.request_id, "x", None, image, None, INFO))


def choose(panel: InsidePanel, method: str) -> None:
    tab = panel.gradcam
    tab.method.setCurrentIndex(tab.method.findData(method))


def test_method_layer_and_patch_reach_the_options(qtbot, views):
    panel = InsidePanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.tabs.setCurrentWidget(panel.gradcam)
    tab = panel.gradcam
    assert [tab.method.itemText(i) for i in range(tab.method.count())] == list(
        METHOD_LABELS.values())
    with qtbot.waitSignal(panel.views_painted, timeout=5000):
        panel.show_views(views)
    assert [tab.layer.itemText(i) for i in range(tab.layer.count())] == [
        f"{kind}{i}" for i in range(1, 6) for kind in ("conv", "relu")]
    assert panel.options().explain_layer == "relu5"  # the default, once the list is filled
    sent: list[tuple[InspectOptions, bool]] = []
    panel.options_changed.connect(lambda options, rerun: sent.append((options, rerun)))
    choose(panel, "gradcam++")
    assert sent[-1][1] and sent[-1][0].method == "gradcam++" and sent[-1][0].gradcam
    tab.layer.setCurrentText("conv3")
    assert sent[-1][0].explain_layer == "conv3"
    assert not tab.occlusion_row.isVisibleTo(panel) and not tab.run_button.isVisibleTo(panel)
    choose(panel, "occlusion")
    assert tab.occlusion_row.isVisibleTo(panel) and not tab.layer.isEnabled()
    assert tab.run_button.isVisibleTo(panel)  # slow: run on demand too
    tab.patch.setValue(48)
    tab.stride.setValue(24)
    options = sent[-1][0]
    assert (options.method, options.occlusion_patch, options.occlusion_stride) == (
        "occlusion", 48, 24)
    choose(panel, "guided-backprop")
    assert not tab.layer.isEnabled() and not tab.occlusion_row.isVisibleTo(panel)
    panel.tabs.setCurrentWidget(panel.kernels)
    assert not sent[-1][0].gradcam  # nothing is explained while the tab is hidden


def test_any_class_by_name_or_number(qtbot):
    panel = InsidePanel()
    qtbot.addWidget(panel)
    tab = panel.gradcam
    panel.reset_for_model(CATEGORIES)
    assert tab.any_class.completer().model().rowCount() == len(CATEGORIES)
    assert tab.choose_class("persian CAT")
    assert panel.options().class_index == 2
    assert tab.target.currentText() == "Persian cat (not in top 5)"
    assert tab.choose_class("4") and panel.options().class_index == 4
    assert not tab.choose_class("cat")  # three classes hold "cat": say so, change nothing
    assert "No class “cat”" in tab.caption.text() and panel.options().class_index == 4
    assert find_class(CATEGORIES, "tiger") == 1 and find_class(CATEGORIES, "99") is None
    panel.reset_for_model(CATEGORIES)  # a new model follows the top-1 again
    assert panel.options().class_index is None


def test_slow_method_runs_as_a_job_with_progress_and_cancel(qtbot, inside, chelsea_png, views):
    session, _client, panel, _controller, jobs, _dock = inside
    tab = panel.gradcam
    choose(panel, "scorecam")
    show_still(session, FileSource(chelsea_png))
    assert len(jobs) == 1 and session.jobs.started == jobs
    job = jobs[0]
    assert job.source == FileSource(chelsea_png) and job.options.method == "scorecam"
    assert tab.progress.isVisibleTo(panel) and tab.cancel_button.isVisibleTo(panel)
    job.progressed.emit(3, 10)
    assert (tab.progress.value(), tab.progress.maximum()) == (3, 10)
    tab.cancel_button.click()
    assert job.cancelled and "Cancelled" in tab.rate.text()
    assert not tab.progress.isVisibleTo(panel) and tab.run_button.isVisibleTo(panel)
    job.finish(explanation())  # a late answer from the cancelled job is dropped
    assert tab.shown is None
    show_still(session, FileSource(chelsea_png))  # the same picture again: not re-run
    assert len(jobs) == 1
    tab.run_button.click()
    assert len(jobs) == 2
    view = explanation()
    jobs[1].finish(view)
    assert tab.shown is view and not tab.progress.isVisibleTo(panel)
    assert "“tiger cat” (25.0%)" in tab.caption.text() and "took 2.0 s" in tab.rate.text()
    panel.show_views(views)  # the worker's views of a slow method carry no map
    assert panel.gradcam.shown is view and panel.main_overlay() is None
    panel.on_main.setChecked(True)
    assert panel.main_overlay() is view.display_overlay


def test_new_picture_or_choice_drops_the_old_answer(qtbot, inside, chelsea_png):
    session, _client, panel, _controller, jobs, _dock = inside
    choose(panel, "occlusion")
    show_still(session, FileSource(chelsea_png))
    first = jobs[-1]
    show_still(session, FrameSource(np.zeros((40, 40, 3), np.uint8)))  # another picture
    assert first.cancelled and len(jobs) == 2
    first.finish(explanation("occlusion"))
    assert panel.gradcam.shown is None
    panel.gradcam.patch.setValue(64)  # another choice: the running job is for the old one
    assert jobs[1].cancelled and len(jobs) == 3 and jobs[2].options.occlusion_patch == 64
    view = explanation("occlusion")
    jobs[2].finish(view)
    assert panel.gradcam.shown is view
    choose(panel, "gradcam")  # a cheap method: the worker's views take over
    assert panel.gradcam.shown is None and len(jobs) == 3


def test_moving_video_waits_for_freeze(qtbot, inside, slow_views):
    session, _client, panel, _controller, jobs, _dock = inside
    choose(panel, "scorecam")
    panel.show_views(slow_views)  # the worker's views carry its estimate
    qtbot.waitUntil(lambda: panel.gradcam.estimate_s is not None, timeout=5000)
    session.set_stream_moving(True)
    show_still(session, FrameSource(np.zeros((40, 40, 3), np.uint8)))
    text = panel.gradcam.rate.text()
    seconds = f"{slow_views.explain_estimate_s:.0f}"
    assert not jobs and f"Score-CAM takes ~{seconds} s (estimated)" in text
    assert "press Freeze" in text
    session.set_stream_moving(False)  # frozen: the last frame is a still picture
    assert len(jobs) == 1 and jobs[0].source is session.source


def test_save_png_and_export_take_the_explanation(qtbot, inside, chelsea_png, tmp_path,
                                                  monkeypatch):
    session, _client, panel, _controller, jobs, _dock = inside
    choose(panel, "scorecam")
    show_still(session, FileSource(chelsea_png))
    view = explanation()
    jobs[0].finish(view)
    monkeypatch.setattr(grid_view, "ask_png_path", lambda _parent, _suggested: tmp_path / "e.png")
    with qtbot.waitSignal(session.status_posted) as status:
        panel.gradcam.save_button.click()
    assert "Saved e.png" in status.args[0]
    np.testing.assert_array_equal(qimage_to_array(QImage(str(tmp_path / "e.png"))),
                                  view.crop_overlay)
    _, record = export_result(session.result, tmp_path / "out.png", session.export_pictures())
    extra = tmp_path / "out.explain-scorecam.png"
    np.testing.assert_array_equal(qimage_to_array(QImage(str(extra))), view.crop_overlay)
    pictures = json.loads(record.read_text())["pictures"]
    assert pictures[0]["image"] == extra.name and pictures[0]["method"] == "scorecam"
    assert pictures[0]["label"] == "tiger cat" and pictures[0]["class_index"] == 1
    panel.tabs.setCurrentWidget(panel.kernels)  # not on screen: not exported
    assert session.export_pictures() == []


def test_export_takes_the_units_pictures_while_the_unit_view_is_shown(qtbot, inside, chelsea_png,
                                                                      tmp_path):
    session, _client, panel, _controller, _jobs, _dock = inside
    show_still(session, FileSource(chelsea_png))
    features, units = panel.features, panel.features.unit_view
    panel.tabs.setCurrentWidget(features)
    assert session.export_pictures() == []  # the Map page is shown
    features.below.setCurrentWidget(features.unit_page)
    assert session.export_pictures() == []  # nothing drawn yet
    rng = np.random.default_rng(3)
    backprop, optimised = (rng.integers(0, 255, (224, 224, 3), np.uint8) for _ in range(2))
    units.backprop.set_array(backprop)
    units.optimised.view.set_array(optimised)
    units.optimised.say("Value into the ReLU: -0.1 at the random start, 2 after 30 steps.")
    layer, unit = units.selected
    _, record = export_result(session.result, tmp_path / "out.png", session.export_pictures())
    pictures = {p["picture"]: p for p in json.loads(record.read_text())["pictures"]}
    assert set(pictures) == {"backprop", "optimised"}  # the top 9 was never searched
    assert pictures["backprop"]["mode"] == "guided" and pictures["optimised"]["unit"] == unit
    assert "after 30 steps" in pictures["optimised"]["caption"]
    saved = tmp_path / pictures["optimised"]["image"]
    assert saved.name == f"out.unit-{layer}-{unit}-optimised.png"
    np.testing.assert_array_equal(qimage_to_array(QImage(str(saved))), optimised)


def test_while_the_network_loads_the_panel_says_so_then_shows_the_views(qtbot, views):
    """The first seconds after a start the top-5 comes from the fast engine, without views."""
    panel = InsidePanel()
    qtbot.addWidget(panel)
    usual = panel.features.grid.placeholder
    panel.show_pending("Loading the network for these views…")
    assert panel.features.grid.placeholder.startswith("Loading the network")
    assert panel.gradcam.view.placeholder.startswith("Loading the network")
    panel.show_views(views)
    assert panel.features.grid.placeholder == usual
