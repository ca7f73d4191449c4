"""Compare mode (a second model in its own worker) and Find Similar (a job with its own model)
in the real window, with real threads."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from PyQt5.QtCore import Qt

from alexnet_gui.ui import dialogs
from alexnet_gui.ui.compare.compare import LIVE_RATE, CompareController
from alexnet_gui.ui.compare.similar import SimilarController
from tests.fixtures.datasets import write_colour_dataset
from tests.fixtures.models import SMALL_CLASSES
from tests.ui.helpers import TIMEOUT, wait_result, window_with_fake_camera

pytestmark = pytest.mark.integration


def test_compare_shows_a_second_top5_and_stopping_frees_it(
    qtbot, gui, monkeypatch, chelsea_png, small_checkpoint_file, tmp_path
):
    wait_result(qtbot, gui, lambda: gui.browse.open_paths([chelsea_png]))
    controller = gui.window.findChild(CompareController)
    monkeypatch.setattr(dialogs, "open_weights", lambda parent, directory: small_checkpoint_file)
    with qtbot.waitSignal(controller.compared, timeout=TIMEOUT) as blocker:
        controller.compare_action.trigger()
    compared = blocker.args[0]
    assert compared.name == chelsea_png.name and compared.model.name == "fruit"
    assert {s.label for s in compared.prediction.scores} == set(SMALL_CLASSES)
    assert len(controller.panel.predictions.bar_texts()) == 3
    assert len(gui.window.predictions.bar_texts()) == 5  # the main model is untouched
    assert gui.session.model.num_classes == 1000 and controller.dock.isVisible()

    other = write_colour_dataset(tmp_path / "more", ("red",), per_class=1) / "red" / "000.png"
    with qtbot.waitSignal(controller.compared, timeout=TIMEOUT,
                          check_params_cb=lambda r: r.name == "000.png"):
        gui.browse.open_paths([other])

    client = controller.client
    controller.dock.close()  # the dock's close button
    assert controller.client is None and not client.thread.isRunning()
    assert not controller.stop_action.isEnabled()
    assert controller.panel.predictions.bar_texts() == []


def test_compare_follows_a_camera_at_a_reduced_rate(qtbot, make_gui, state_dict_file,
                                                    small_checkpoint_file):
    gui, capture = window_with_fake_camera(qtbot, make_gui, state_dict_file)
    controller = gui.window.findChild(CompareController)
    with qtbot.waitSignal(capture.stream_started, timeout=TIMEOUT):
        gui.live.actions.start_camera.trigger()
    compared: list[float] = []
    controller.compared.connect(lambda result: compared.append(time.monotonic()))
    with qtbot.waitSignal(controller.compared, timeout=TIMEOUT):
        controller.compare_with(small_checkpoint_file)
    shown = gui.live.meter.counters.frames_painted_with_overlay
    qtbot.waitUntil(lambda: len(compared) >= 4, timeout=TIMEOUT)
    assert gui.live.meter.counters.frames_painted_with_overlay > shown  # the main model goes on
    gaps = [b - a for a, b in itertools.pairwise(compared[1:])]  # [0] came with the load
    assert all(gap > 0.8 / LIVE_RATE for gap in gaps), gaps
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        gui.live.actions.stop.trigger()


def test_find_similar_lists_the_nearest_and_opens_one(qtbot, gui, monkeypatch, tmp_path):
    folder = write_colour_dataset(tmp_path / "pictures", ("red", "blue"), per_class=4)
    query = folder / "red" / "002.png"
    wait_result(qtbot, gui, lambda: gui.browse.open_paths([query]))
    controller = gui.window.findChild(SimilarController)
    monkeypatch.setattr(dialogs, "choose_folder", lambda parent, title, directory: folder)
    with qtbot.waitSignal(controller.results_shown, timeout=TIMEOUT) as blocker:
        controller.find_action.trigger()
    results = blocker.args[0]
    assert (results.indexed, results.computed, len(results.hits)) == (8, 8, 8)
    assert results.hits[0].path == query.resolve() and results.hits[0].score > 0.999
    assert all(hit.thumbnail is not None and max(hit.thumbnail.shape) <= 112
               for hit in results.hits)
    grid = controller.panel.grid
    assert grid.count() == 8 and controller.dock.isVisible()
    qtbot.waitUntil(lambda: not controller.panel.cancel_button.isEnabled(), timeout=TIMEOUT)

    with qtbot.waitSignal(controller.results_shown, timeout=TIMEOUT) as blocker:
        controller.panel.search_button.click()  # the same folder: the index is reused
    assert (blocker.args[0].computed, blocker.args[0].reused) == (0, 8)

    item = grid.item(1)
    name = results.hits[1].path.name
    rect = grid.visualItemRect(item)
    wait_result(qtbot, gui,
                lambda: qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=rect.center()),
                name=name)
    assert gui.browse.collection.current == results.hits[1].path
    qtbot.waitUntil(lambda: controller.job is None, timeout=TIMEOUT)


def test_similar_scores_tell_near_from_far(qtbot):
    from alexnet_gui.ui.compare.similar import SimilarPanel
    from alexnet_gui.workers.similarity_job import SimilarHit, SimilarResults

    panel = SimilarPanel()
    qtbot.addWidget(panel)
    scores = (1.0, 0.99979, 0.9991, 0.9979, 0.75)  # what "1.000, 1.000, 0.999, 0.998" hid
    hits = tuple(SimilarHit(Path(f"/p/{i}.png"), s, None) for i, s in enumerate(scores))
    panel.show_results(SimilarResults(Path("/p"), "q.png", hits, 5, 0, 5, 0, 0, "m"))
    labels = [panel.grid.item(i).text().split("\n")[0] for i in range(panel.grid.count())]
    assert labels == ["0", "0.00021", "0.0009", "0.0021", "0.25"]
    assert len(set(labels)) == len(labels) and "distance" in panel.status.text()


def test_the_similar_panel_fits_the_dock_a_1280_px_screen_leaves(qtbot):
    """At 1280x800 the right-hand dock gets about 300 px: every button must show whole there
    (with the buttons beside the folder the panel needed 373 px and cut Cancel off)."""
    from alexnet_gui.ui.compare.similar import SimilarPanel

    panel = SimilarPanel()
    qtbot.addWidget(panel)
    assert panel.minimumSizeHint().width() <= 320
    panel.resize(320, 400)
    panel.show()
    qtbot.waitExposed(panel)
    for button in (panel.folder_button, panel.search_button, panel.cancel_button):
        assert button.geometry().right() <= panel.width()
        assert button.width() >= button.minimumSizeHint().width()
