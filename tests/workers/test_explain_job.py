"""The slow explanations' job: progress, the picture's own crop, cancel, errors, the model shelf."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.visualize.explain import ExplainOptions, explain
from alexnet_gui.core.visualize.inside import crop_box
from alexnet_gui.messages import FileSource, FrameSource, InspectOptions
from alexnet_gui.workers.explain_job import ExplainJob, ModelShelf
from alexnet_gui.workers.jobs import JobRunner

TIMEOUT = 60_000
#: Four patch positions and one pass per batch: five progress reports, in a second.
QUICK = InspectOptions(gradcam=True, method="occlusion", occlusion_patch=112,
                       occlusion_stride=112)


@pytest.fixture
def loads(imagenet_like_classifier):
    """A loader handing out the session's random classifier, counting its calls."""
    calls: list[tuple[Path | None, str]] = []

    def loader(weights: Path | None, device: str):
        calls.append((weights, device))
        return imagenet_like_classifier

    loader.calls = calls  # type: ignore[attr-defined]
    return loader


def test_occlusion_reports_progress_and_explains_the_picture(loads, chelsea_rgb,
                                                             imagenet_like_classifier):
    job = ExplainJob(FrameSource(chelsea_rgb), QUICK, weights=None, key="k", loader=loads,
                     batch_size=1)
    reports: list[tuple[int, int]] = []
    stages: list[str] = []
    job.progressed.connect(lambda done, total: reports.append((done, total)))
    job.stage_changed.connect(stages.append)
    result = job.run()
    assert reports == [(i, 4) for i in range(5)] and result.passes == 4
    assert stages == ["Loading the model…", "Explaining…"]
    assert result.key == "k" and result.elapsed_s > 0
    classifier = imagenet_like_classifier
    expected = explain(classifier.model, classifier.preprocess(Image.fromarray(chelsea_rgb)),
                       ExplainOptions(method="occlusion", occlusion_patch=112,
                                      occlusion_stride=112))
    view = result.view
    np.testing.assert_allclose(view.explanation.map, expected.map, atol=1e-5)
    assert view.explanation.class_index == expected.class_index
    assert view.label == classifier.spec.categories[expected.class_index]
    assert view.crop_overlay.shape == (224, 224, 3)
    assert view.display_overlay.shape == chelsea_rgb.shape
    assert view.crop_box == crop_box(451, 300, classifier.spec.preprocessing)


def test_a_file_and_a_chosen_class(loads, chelsea_png, imagenet_like_classifier):
    options = InspectOptions(gradcam=True, method="scorecam", explain_layer="relu4",
                             class_index=7)
    result = ExplainJob(FileSource(chelsea_png), options, weights=None, loader=loads).run()
    assert result.view.explanation.class_index == 7
    assert result.view.explanation.layer == "relu4"
    assert result.passes > 0


def test_cancel_stops_between_batches(qtbot, loads, chelsea_rgb):
    runner = JobRunner()
    job = ExplainJob(FrameSource(chelsea_rgb), QUICK, weights=None, loader=loads, batch_size=1)
    failures: list[str] = []
    done: list[int] = []
    completed: list[object] = []
    job.progressed.connect(lambda d, _total: (done.append(d), job.cancel()))
    job.failed.connect(failures.append)
    job.completed.connect(completed.append)
    with qtbot.waitSignal(job.ended, timeout=TIMEOUT):
        runner.start(job)
    assert runner.shutdown()
    assert failures == ["Cancelled."] and not completed
    assert max(done) < 4  # it stopped before the last patches


def test_bad_class_or_layer_is_one_line(loads, chelsea_rgb):
    source = FrameSource(chelsea_rgb)
    for options, words in ((InspectOptions(method="scorecam", class_index=1000), "no class 1000"),
                           (InspectOptions(method="scorecam", explain_layer="fc7"), "fc7")):
        job = ExplainJob(source, options, weights=None, loader=loads)
        failures: list[str] = []
        job.failed.connect(failures.append)
        job._on_thread_started()  # what the runner's thread calls; reports instead of raising
        assert len(failures) == 1 and words in failures[0] and "\n" not in failures[0]


def test_the_shelf_lends_one_model_per_weights(loads, state_dict_file, tmp_path):
    shelf = ModelShelf()
    first = shelf.take(None, "cpu", loads)
    shelf.put_back(None, "cpu", first)
    assert shelf.take(None, "cpu", loads) is first and len(loads.calls) == 1
    assert shelf.take(None, "cpu", loads) is first and len(loads.calls) == 2  # lent: not kept
    shelf.put_back(None, "cpu", first)
    shelf.take(state_dict_file, "cpu", loads)  # other weights: loaded
    assert loads.calls[-1] == (state_dict_file, "cpu")
