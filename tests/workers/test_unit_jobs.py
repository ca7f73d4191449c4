"""The unit view's jobs on real threads: top 9 of a folder and an optimised image, cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.visualize.units.maximise import MaximiseSettings
from alexnet_gui.workers.jobs import JobRunner
from alexnet_gui.workers.unit_jobs import MaximiseJob, TopPatchesJob
from tests.fixtures.tiny import tiny_classifier

TIMEOUT = 60_000


@pytest.fixture
def runner(qapp):
    runner = JobRunner()
    yield runner
    assert runner.shutdown(10_000)


class CountingLoader:
    """Loads the tiny classifier and counts how often it was asked to."""

    def __init__(self) -> None:
        self.loads = 0

    def __call__(self, _weights: Path | None, _device: str):
        self.loads += 1
        return tiny_classifier()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (48, 60, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png")
    return tmp_path


def run(qtbot, runner, job):
    with qtbot.waitSignals([job.completed, job.ended], timeout=TIMEOUT) as blocker:
        runner.start(job)
    return blocker.all_signals_and_args[0].args[0]


def test_top_patches_index_once_then_answer_from_disk(qtbot, runner, folder):
    loader = CountingLoader()
    first = run(qtbot, runner, TopPatchesJob(folder, "relu1", 2, weights=None, loader=loader))
    assert (first.layer, first.unit, first.indexed, first.computed) == ("relu1", 2, 5, 5)
    assert len(first.patches) == 5 and first.field_size == 3
    values = [p.value for p in first.patches]
    assert values == sorted(values, reverse=True)
    assert first.grid.dtype == np.uint8 and first.grid.shape[2] == 3
    second = run(qtbot, runner, TopPatchesJob(folder, "relu1", 0, weights=None, loader=loader))
    assert (second.unit, second.computed, loader.loads) == (0, 0, 1)  # no model the second time


def test_top_patches_fail_in_one_line(qtbot, runner, tmp_path):
    job = TopPatchesJob(tmp_path / "missing", "relu1", 0, weights=None, loader=CountingLoader())
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        runner.start(job)
    assert blocker.args == [f"Not a folder: {(tmp_path / 'missing').resolve()}"]


def test_maximise_computes_then_reads_the_cache(qtbot, runner):
    loader = CountingLoader()
    settings = MaximiseSettings(steps=5, jitter=2)
    job = MaximiseJob("fc6", 1, weights=None, settings=settings, loader=loader, cache_only=True)
    assert run(qtbot, runner, job) is None and loader.loads == 0  # nothing cached yet
    job = MaximiseJob("fc6", 1, weights=None, settings=settings, loader=loader)
    progress: list[tuple[int, int]] = []
    job.progressed.connect(lambda done, total: progress.append((done, total)))
    result = run(qtbot, runner, job)
    assert not result.cached and result.image.shape == (224, 224, 3)
    assert result.final_activation > result.start_activation
    qtbot.waitUntil(lambda: len(progress) == 5)
    assert progress[-1] == (5, 5)
    again = run(qtbot, runner, MaximiseJob("fc6", 1, weights=None, settings=settings,
                                           loader=loader, cache_only=True))
    assert again.cached and loader.loads == 1
    np.testing.assert_array_equal(again.image, result.image)
    other = MaximiseJob("fc6", 1, weights=None, settings=settings, steps=6, loader=loader,
                        cache_only=True)
    assert run(qtbot, runner, other) is None  # other steps: another image


def test_maximise_cancel_is_a_failure_with_a_message(qtbot, runner):
    job = MaximiseJob("relu1", 0, weights=None, settings=MaximiseSettings(steps=100_000),
                      loader=CountingLoader())
    job.progressed.connect(job.cancel)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as blocker:
        runner.start(job)
    assert blocker.args == ["Optimisation cancelled."]
