"""core.inference.folder: the one way the CLI and the folder table classify many files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.inference import folder
from alexnet_gui.core.inference.fallback import FALLBACK_NOTE
from alexnet_gui.core.inference.folder import classify_chunk, classify_paths
from tests.fixtures.tiny import on_fake_gpu, tiny_classifier


@pytest.fixture
def photos(photo_folder: Path) -> list[Path]:
    return sorted(photo_folder.iterdir())  # astronaut, broken, chelsea, coffee, rocket


def test_a_chunk_answers_every_file_in_order_with_one_line_reasons(photos) -> None:
    chunk = classify_chunk(tiny_classifier(), photos, topk=2)
    assert [row[0] for row in chunk.rows] == photos and chunk.note is None
    for path, prediction, error in chunk.rows:
        if path.name == "broken.jpg":
            assert prediction is None and "\n" not in error
            assert "broken.jpg" not in error  # the row names the file; the reason does not
        else:
            assert error is None and len(prediction.scores) == 2


def test_stop_leaves_the_rest_of_the_chunk_for_later(photos) -> None:
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return True

    chunk = classify_chunk(tiny_classifier(), photos, topk=1, stop=stop)
    assert [row[0] for row in chunk.rows] == photos[:1]  # at least one file, then it stops
    assert chunk.rows[0][1] is not None and asked == [1]


def test_a_decoder_bug_and_a_failing_model_are_rows_not_the_end(
    photos, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = photos[2]
    real_decode = folder.file_tensor

    def buggy_decode(path, pre):
        if Path(path) == victim:
            raise KeyError("a bug")
        return real_decode(path, pre)

    monkeypatch.setattr(folder, "file_tensor", buggy_decode)
    classifier = tiny_classifier()
    errors = {row[0]: row[2] for row in classify_paths(classifier, photos, topk=1)}
    assert errors[victim] == "could not be read (KeyError: 'a bug')"

    def broken_forward(_x: torch.Tensor) -> torch.Tensor:
        raise ValueError("a broken model")

    monkeypatch.setattr(classifier.model, "forward", broken_forward)
    rows = list(classify_paths(classifier, photos, topk=1))
    assert [row[1] for row in rows] == [None] * len(photos)
    assert rows[0][2] == "could not be classified (ValueError: a broken model)"
    assert rows[1][2].startswith("the image data") and "could not be classified" not in rows[1][2]
    assert rows[2][2] == errors[victim]  # the decoder's reason stays the row's reason


def test_tencrop_goes_through_the_same_chunks(photos) -> None:
    classifier = tiny_classifier()
    good = [path for path in photos if path.name != "broken.jpg"]
    rows = list(classify_paths(classifier, good, topk=3, tta=True, batch_size=20))
    for path, prediction, error in rows:
        assert error is None and prediction.tta
        still = classifier.classify(load_image(path), topk=3, tta=True)
        assert prediction.top1.index == still.top1.index
        assert abs(prediction.top1.probability - still.top1.probability) < 1e-4


def test_out_of_memory_on_the_gpu_finishes_the_run_on_the_cpu_with_one_note(
    photos, monkeypatch: pytest.MonkeyPatch
) -> None:
    classifier = tiny_classifier()
    calls = on_fake_gpu(monkeypatch, classifier, torch.cuda.OutOfMemoryError("CUDA out of memory"))
    notes: list[str] = []
    good = [path for path in photos if path.name != "broken.jpg"]
    rows = list(classify_paths(classifier, good, topk=1, batch_size=2, on_note=notes.append))
    assert [row[2] for row in rows] == [None] * len(good)
    assert notes == [FALLBACK_NOTE] and classifier.device.type == "cpu"
    assert calls == ["cuda", "cpu", "cpu"]  # the failed pass, its retry, the second chunk
