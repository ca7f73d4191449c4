"""The folder table's batch: the CLI's way of classifying a folder, stepped by the worker."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from alexnet_gui.cli import main
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.inference import folder
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.inference.fallback import FALLBACK_NOTE
from alexnet_gui.core.models.weights import load_weights
from alexnet_gui.messages import (
    BatchRequest,
    ClassifyRequest,
    FileSource,
    InspectOptions,
    ModelRequest,
)
from alexnet_gui.workers.folder_batch import BatchControl, FolderBatch
from alexnet_gui.workers.inference_worker import InferenceWorker
from alexnet_gui.workers.pending_slot import PendingSlot
from tests.fixtures.tiny import on_fake_gpu, tiny_classifier
from tests.workers.test_inference_worker import Recorder


def make_worker(classifier: Classifier) -> tuple[InferenceWorker, Recorder]:
    worker = InferenceWorker(PendingSlot(), BatchControl(), loader=lambda _w, _d: classifier)
    recorder = Recorder(worker)
    worker.load_model(ModelRequest(None, "cpu"))
    return worker, recorder


def run_batch(worker: InferenceWorker, batch_id: int, paths: tuple[Path, ...], tta=False) -> None:
    """What the window's open does after submitting the picture: a batch for the table."""
    worker._control.want(batch_id)
    worker.start_batch(BatchRequest(batch_id, paths, tta))
    while worker.run_batch_chunk():
        pass


def count_forward_passes(monkeypatch: pytest.MonkeyPatch, classifier: Classifier) -> list[int]:
    """The batch size of every pass through the classifier's engine."""
    sizes: list[int] = []
    run = classifier.engine.run

    def counting(batch: torch.Tensor) -> torch.Tensor:
        sizes.append(len(batch))
        return run(batch)

    monkeypatch.setattr(classifier.engine, "run", counting)
    return sizes


def test_the_table_and_the_cli_say_the_same_thing_about_each_file(
    qapp, photo_folder: Path, small_checkpoint_file: Path, capsys, monkeypatch
) -> None:
    victim = photo_folder / "chelsea.jpg"
    real_decode = folder.file_tensor

    def buggy_decode(path, pre):  # a decoder bug as well as a broken file
        if Path(path) == victim:
            raise KeyError("a bug inside a decoder")
        return real_decode(path, pre)

    monkeypatch.setattr(folder, "file_tensor", buggy_decode)
    argv = [
        "classify",
        str(photo_folder),
        "--weights",
        str(small_checkpoint_file),
        "--json",
        "--topk",
        "1",
        "--device",
        "cpu",
        "--engine",
        "pytorch",
    ]
    assert main(argv) == 1
    cli = {Path(entry["path"]).name: entry for entry in json.loads(capsys.readouterr().out)}

    worker, recorder = make_worker(Classifier(load_weights(small_checkpoint_file), device="cpu"))
    run_batch(worker, 1, (photo_folder,))
    table = {item.path.name: item for item in recorder.of("batch_item_ready")}
    assert set(table) == set(cli) and len(table) == 5
    for name, item in table.items():
        assert item.error == cli[name].get("error"), name
        if item.error is None:
            (best,) = cli[name]["predictions"]
            assert item.top1.index == best["index"], name
            assert abs(item.top1.probability - best["probability"]) < 1e-4, name
    bug = "could not be read (KeyError: 'a bug inside a decoder')"  # the row names the file
    assert table["chelsea.jpg"].error == bug
    assert table["broken.jpg"].error.startswith("the image data is damaged")


def test_a_file_opened_alone_goes_through_the_model_once(
    qapp, tmp_path: Path, chelsea_png: Path, monkeypatch
) -> None:
    photo = tmp_path / "chelsea.png"
    photo.write_bytes(chelsea_png.read_bytes())
    classifier = tiny_classifier()
    worker, recorder = make_worker(classifier)
    passes = count_forward_passes(monkeypatch, classifier)
    worker._pending.put(ClassifyRequest(1, FileSource(photo), topk=3))
    worker.process_pending()  # the window submits the picture, then starts a one-row batch
    run_batch(worker, 1, (photo,))
    assert passes == [1]
    (single,) = recorder.of("prediction_ready")
    (row,) = recorder.of("batch_item_ready")
    assert row.top1 == single.prediction.top1 and row.error is None
    assert recorder.of("batch_finished")[0].done == 1

    run_batch(worker, 2, (photo,), tta=True)  # another question: the model runs
    stat = photo.stat()
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file changed
    run_batch(worker, 3, (photo,))
    assert passes == [1, 10, 1]


def test_an_answer_drawn_for_the_inside_panel_is_not_reused_by_the_table(
    qapp, tmp_path: Path, chelsea_png: Path, monkeypatch
) -> None:
    """The panel's pass runs the PyTorch model; the table's row must be the engine's answer."""
    photo = tmp_path / "chelsea.png"
    photo.write_bytes(chelsea_png.read_bytes())
    classifier = tiny_classifier()
    worker, recorder = make_worker(classifier)
    passes = count_forward_passes(monkeypatch, classifier)
    worker._pending.put(ClassifyRequest(1, FileSource(photo), inspect=InspectOptions()))
    worker.process_pending()
    assert recorder.of("prediction_ready")[0].views is not None and passes == []
    run_batch(worker, 1, (photo,))
    assert passes == [1]  # the engine ran for the row


def test_out_of_memory_in_a_batch_moves_to_the_cpu_and_tells_the_window_once(
    qapp, photo_folder: Path, monkeypatch
) -> None:
    classifier = tiny_classifier()
    worker, recorder = make_worker(classifier)
    calls = on_fake_gpu(monkeypatch, classifier, torch.cuda.OutOfMemoryError("CUDA out of memory"))
    good = tuple(path for path in sorted(photo_folder.iterdir()) if path.name != "broken.jpg")
    run_batch(worker, 1, good)
    items = recorder.of("batch_item_ready")
    assert [item.error for item in items] == [None] * 4
    (status,) = recorder.of("device_changed")
    assert status.note == FALLBACK_NOTE and status.info.device == "cpu"
    assert calls == ["cuda", "cpu"]  # one chunk of 8: the failed pass and its retry


def test_a_waiting_picture_cuts_a_chunk_short(photo_folder: Path) -> None:
    control = BatchControl()
    control.want(1)
    batch = FolderBatch(BatchRequest(1, (photo_folder,)), control)
    classifier = tiny_classifier()
    first = list(batch.step(classifier, interrupted=lambda: True))
    assert [item.index for item in first] == [0] and batch.summary is None
    rest = list(batch.step(classifier, interrupted=lambda: False))
    assert [item.index for item in rest] == [1, 2, 3, 4]
    assert (batch.summary.done, batch.summary.failed) == (5, 1)


def test_tencrop_rows_match_the_single_picture(photo_folder: Path) -> None:
    control = BatchControl()
    control.want(1)
    batch = FolderBatch(BatchRequest(1, (photo_folder,), True), control)
    classifier = tiny_classifier()
    items = list(batch.step(classifier, interrupted=lambda: False))
    for item in items:
        if item.error is None:
            still = classifier.classify(load_image(item.path), topk=1, tta=True)
            assert item.top1.index == still.top1.index
            assert abs(item.top1.probability - still.top1.probability) < 1e-4
    assert batch.summary.failed == 1
