"""Faults outside the input: a cut-off download, a full disk, a GPU out of memory, a flaky camera.

Already covered elsewhere, and not repeated here: a camera that stops delivering
(tests/workers/test_camera.py::test_camera_that_fails_mid_stream_reports_and_ends and
tests/ui/test_live.py::test_a_camera_that_fails_mid_stream_is_survived_and_restarts), a bug in the
capture loop, a stalled or refused download, and a read-only folder for export. Root ignores
folder permissions, so a full disk is simulated by file objects whose ``write`` fails with ENOSPC
part-way, and by ``os.replace`` failing.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
from collections.abc import Callable

import numpy as np
import pytest
import torch

from alexnet_gui.cli import main
from alexnet_gui.core.errors import DownloadError, WeightsError
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.inference.fallback import FALLBACK_NOTE, run_with_oom_fallback
from alexnet_gui.core.models.checkpoints import checkpoint_dict, save_checkpoint
from alexnet_gui.core.models.download import download_weights
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.export import ExportError, export_result
from alexnet_gui.ui.live.snapshot import SnapshotFrame, save_snapshot
from alexnet_gui.workers.capture_client import CaptureClient
from alexnet_gui.workers.capture_worker import CaptureWorker
from tests.fixtures.models import random_model
from tests.fixtures.tiny import on_fake_gpu as fake_gpu
from tests.fixtures.tiny import tiny_classifier
from tests.fixtures.video import FakeCamera, clip_frame
from tests.ui.helpers import TIMEOUT, wait_result

NO_SPACE = "No space left on device"


# -- a download cut off, then tried again --------------------------------------------------------

def test_an_interrupted_download_leaves_nothing_and_the_next_one_succeeds(weights_server,
                                                                          tmp_path) -> None:
    data = np.random.default_rng(3).bytes(2 * 1024 * 1024)
    name = f"alexnet-soak-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    url = weights_server.add(f"/{name}", data, cut_after=700_000)
    with pytest.raises(DownloadError, match="cut off after"):
        download_weights(url, dest_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .partial
    weights_server.add(f"/{name}", data)  # the connection is back
    path = download_weights(url, dest_dir=tmp_path)
    assert path.read_bytes() == data and sorted(tmp_path.iterdir()) == [path]


def test_the_download_command_fails_once_then_succeeds(weights_server, tmp_path, monkeypatch,
                                                       capsys) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    data = np.random.default_rng(4).bytes(300_000)
    name = f"alexnet-soak-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    url = weights_server.add(f"/{name}", data, cut_after=100_000)
    assert main(["download", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "cut off" in err.splitlines()[-1] and "Traceback" not in err
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    assert not cache.exists() or list(cache.iterdir()) == []
    weights_server.add(f"/{name}", data)
    assert main(["download", "--url", url]) == 0
    assert (cache / name).read_bytes() == data and len(list(cache.iterdir())) == 1


# -- a full disk ------------------------------------------------------------------------------

def full_disk(monkeypatch: pytest.MonkeyPatch, room: int) -> None:
    """Files opened with ``os.fdopen`` take ``room`` bytes in all, then fail with ENOSPC."""
    left = [room]
    real_fdopen = os.fdopen

    class FullFile(io.FileIO):
        def write(self, data) -> int:
            if len(data) > left[0]:
                raise OSError(errno.ENOSPC, NO_SPACE)
            left[0] -= len(data)
            return super().write(data)

    def fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object):
        if "w" not in mode:
            return real_fdopen(fd, mode, *args, **kwargs)
        return io.BufferedWriter(FullFile(fd, "wb"))

    monkeypatch.setattr(os, "fdopen", fdopen)


def replace_fails_for(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """``os.replace`` fails with ENOSPC for targets ending in ``suffix``."""
    real_replace = os.replace

    def replace(src, dst, *args: object, **kwargs: object) -> None:
        if str(dst).endswith(suffix):
            raise OSError(errno.ENOSPC, NO_SPACE)
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


@pytest.fixture
def result(tmp_path):
    from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction
    from alexnet_gui.messages import ClassifyResult

    info = ModelInfo("ImageNet (torchvision)", "torchvision", 1000, "/hub/a.pth", 224, "cpu")
    scores = (ClassScore(1, 281, "tabby", 0.7),)
    prediction = Prediction(scores, 31.5, "cpu", info.name, tta=False)
    image = np.full((120, 200, 3), 240, np.uint8)
    return ClassifyResult(4, "cat.png", tmp_path / "cat.png", image, prediction, info, 2.5)


@pytest.mark.parametrize(
    "fault",
    [
        lambda mp: full_disk(mp, 0),  # nothing fits
        lambda mp: full_disk(mp, 3000),  # the PNG is cut part-way
        lambda mp: replace_fails_for(mp, ".json"),  # the PNG is in place when the JSON fails
    ],
    ids=["empty-disk", "png-cut", "json-rename"],
)
def test_a_full_disk_while_exporting_leaves_neither_file(qapp, tmp_path, monkeypatch, result,
                                                         fault: Callable) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    fault(monkeypatch)
    with pytest.raises(ExportError, match=f"Cannot write to .*out: {NO_SPACE}"):
        export_result(result, folder / "cat-alexnet.png")
    assert list(folder.iterdir()) == []


def test_a_full_disk_while_snapshotting_leaves_neither_file(qapp, tmp_path, monkeypatch,
                                                            result) -> None:
    frame = SnapshotFrame(clip_frame(2), "Camera 0", 17, 15)
    replace_fails_for(monkeypatch, ".json")
    with pytest.raises(ExportError, match=NO_SPACE):
        save_snapshot(frame, result, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("room", [0, 100, 2_000_000])
def test_a_full_disk_while_saving_a_checkpoint_says_so_and_leaves_nothing(tmp_path, monkeypatch,
                                                                         room: int) -> None:
    """torch's zip writer turns a failed write into "unexpected pos": the message must not."""
    spec = WeightsSpec("x", "torchvision", ("a", "b"), Preprocessing(), "test")
    data = checkpoint_dict(random_model(num_classes=2), spec)
    full_disk(monkeypatch, room)
    with pytest.raises(WeightsError, match=f"Could not save the checkpoint .*: {NO_SPACE}"):
        save_checkpoint(tmp_path / "model.pth", data)
    assert list(tmp_path.iterdir()) == []


def test_training_onto_a_full_disk_is_one_line_and_leaves_nothing(
    tiny_colour_dataset, tmp_path, monkeypatch, capsys
) -> None:
    out = tmp_path / "runs" / "model.pth"
    replace_fails_for(monkeypatch, "model.pth")
    status = main(["train", str(tiny_colour_dataset), "--out", str(out), "--from", "scratch",
                   "--input-size", "64", "--batch-size", "8", "--epochs", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 1 and err.endswith(f"{NO_SPACE}\n") and "Traceback" not in err
    assert err.splitlines()[-1].startswith("alexnet-gui train: Could not save the checkpoint")
    assert list(out.parent.iterdir()) == []


@pytest.mark.integration
def test_export_and_snapshot_onto_a_full_disk_show_a_message(
    qtbot, qthread_guard, make_gui, state_dict_file, monkeypatch, tmp_path, chelsea_png
) -> None:
    capture = CaptureClient(capture_factory=lambda target, api: FakeCamera(target, api, fps=60),
                            probe=lambda in_use: [0])
    gui = make_gui(capture=capture)
    with qtbot.waitSignal(gui.session.inference.model_loaded, timeout=TIMEOUT),\
            qtbot.waitSignal(capture.cameras_found, timeout=TIMEOUT):
        gui.start(weights=str(state_dict_file))
    wait_result(qtbot, gui, lambda: gui.browse.open_paths([chelsea_png]), name="chelsea.png")
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.setattr(dialogs, "save_result", lambda *_a: folder / "chelsea-alexnet.png")
    monkeypatch.setattr(dialogs, "choose_snapshot_folder", lambda *_a: folder)
    with pytest.MonkeyPatch.context() as disk:
        full_disk(disk, 0)
        gui.window.actions_.export_result.trigger()
        assert gui.window.messages.text.startswith(f"Cannot write to {folder}: {NO_SPACE}")
        gui.live.actions.start_camera.trigger()
        qtbot.waitUntil(lambda: gui.live.meter.counters.frames_shown >= 2, timeout=TIMEOUT)
        gui.live.actions.snapshot.trigger()
        messages = gui.window.messages
        assert messages.text.startswith("Cannot write to")
        assert sum("Cannot write to" in line for line in messages.history) == 2
        assert list(folder.iterdir()) == []
    with qtbot.waitSignal(capture.stream_finished, timeout=TIMEOUT):
        gui.live.actions.stop.trigger()
    gui.live.actions.snapshot.trigger()  # space again: the same commands now work
    gui.window.actions_.export_result.trigger()
    assert len(list(folder.glob("*.png"))) == 2 and len(list(folder.glob("*.json"))) == 2


# -- a GPU out of memory ------------------------------------------------------------------------

@pytest.fixture
def on_fake_gpu(monkeypatch: pytest.MonkeyPatch):
    """A tiny classifier that believes it is on CUDA and whose forward pass fails ``failures``
    times while it does; returns (classifier, calls)."""

    def make(error: BaseException, failures: int = 1) -> tuple[Classifier, list[str]]:
        classifier = tiny_classifier()
        return classifier, fake_gpu(monkeypatch, classifier, error, failures)

    return make


FRAME = np.full((60, 80, 3), 128, np.uint8)


@pytest.mark.parametrize("error", [
    torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    RuntimeError("CUDA error: out of memory"),
])
def test_out_of_memory_on_the_gpu_retries_once_on_the_cpu(on_fake_gpu, error) -> None:
    classifier, calls = on_fake_gpu(error)
    prediction, note = run_with_oom_fallback(classifier, lambda: classifier.classify(FRAME))
    assert note == FALLBACK_NOTE and classifier.device.type == "cpu"
    assert calls == ["cuda", "cpu"] and len(prediction.scores) == 3
    # later requests run on the CPU at once, without a note
    again, note = run_with_oom_fallback(classifier, lambda: classifier.classify(FRAME))
    assert note is None and calls == ["cuda", "cpu", "cpu"] and again.scores


def test_other_errors_and_a_second_failure_are_not_swallowed(on_fake_gpu) -> None:
    classifier, calls = on_fake_gpu(ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        run_with_oom_fallback(classifier, lambda: classifier.classify(FRAME))
    assert classifier.device.type == "cuda" and calls == ["cuda"]  # no retry, no move

    classifier, calls = on_fake_gpu(torch.cuda.OutOfMemoryError("out of memory"), failures=2)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        run_with_oom_fallback(classifier, lambda: classifier.classify(FRAME))
    assert calls == ["cuda", "cpu"]  # retried once, on the CPU, then given up


def test_out_of_memory_on_the_cpu_is_not_retried(on_fake_gpu) -> None:
    classifier, calls = on_fake_gpu(RuntimeError("DefaultCPUAllocator: out of memory"))
    classifier.device = torch.device("cpu")
    with pytest.raises(RuntimeError, match="out of memory"):
        run_with_oom_fallback(classifier, lambda: classifier.classify(FRAME))
    assert calls == ["cpu"]


def test_a_folder_batch_finishes_on_the_cpu_and_keeps_the_note(on_fake_gpu, tmp_path) -> None:
    from PIL import Image

    from alexnet_gui.messages import BatchRequest
    from alexnet_gui.workers.folder_batch import BatchControl, FolderBatch

    for index in range(3):
        Image.new("RGB", (40, 30), (index * 80, 60, 90)).save(tmp_path / f"{index}.png")
    classifier, calls = on_fake_gpu(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    control = BatchControl()
    control.want(1)
    batch = FolderBatch(BatchRequest(1, (tmp_path,), False), control)
    items = list(batch.step(classifier, interrupted=lambda: False))
    assert [item.error for item in items] == [None, None, None]
    assert batch.note == FALLBACK_NOTE and classifier.device.type == "cpu"
    assert calls == ["cuda", "cpu"] and batch.summary is not None


# -- a camera that hiccups ----------------------------------------------------------------------

class _HiccupCamera(FakeCamera):
    """Drops one read in every five, as a busy USB bus does; never fails for good."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.attempts = 0

    def read(self):
        self.attempts += 1
        if self.attempts % 5 == 0:
            return False, None
        return super().read()


@pytest.mark.integration
def test_a_camera_that_drops_single_reads_keeps_streaming(qtbot, qthread_guard) -> None:
    worker = CaptureWorker(capture_factory=lambda target, api: _HiccupCamera(target, api,
                                                                             fps=200))
    frames: list[object] = []
    failures: list[str] = []
    worker.frame_captured.connect(frames.append)
    worker.stream_failed.connect(failures.append)
    worker.start(0)
    try:
        qtbot.waitUntil(lambda: len(frames) >= 30, timeout=TIMEOUT)
        assert failures == [] and worker.is_running()
    finally:
        assert worker.shutdown()
