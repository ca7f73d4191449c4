"""Evaluation numbers checked against cases worked out by hand, and the benchmark's plumbing.

The model of these tests ignores its input: fc8's weights are zero and its bias favours one
class, so on three blue and two red images it is right exactly three times out of five.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alexnet_gui.core.errors import DatasetError
from alexnet_gui.core.inference.benchmark import benchmark, replace_lrn
from alexnet_gui.core.models.architectures import build_model
from alexnet_gui.core.training.evaluation import evaluate
from tests.fixtures.datasets import write_colour_dataset, write_constant_checkpoint


def test_accuracy_and_confusion_of_a_constant_model(
    always_blue_checkpoint: Path, three_blue_two_red: Path
) -> None:
    report = evaluate(always_blue_checkpoint, three_blue_two_red, device="cpu", batch_size=2)
    assert report.labels == ("blue", "red")
    assert report.confusion == ((3, 0), (2, 0))
    assert (report.correct, report.total) == (3, 5)
    assert report.accuracy == pytest.approx(0.6)
    assert report.per_class == {"blue": (3, 3), "red": (0, 2)}
    data = report.as_dict()
    assert data["per_class_accuracy"] == {"blue": 1.0, "red": 0.0}
    assert data["confusion"] == [[3, 0], [2, 0]]


def test_other_favourite_and_tencrop(tmp_path: Path, three_blue_two_red: Path) -> None:
    always_red = write_constant_checkpoint(tmp_path / "red.pt", ("blue", "red"), favourite=1)
    report = evaluate(always_red, three_blue_two_red, tta=True, device="cpu")
    assert report.tta
    assert report.confusion == ((0, 3), (0, 2))
    assert report.accuracy == pytest.approx(0.4)


def test_folders_are_matched_by_name_not_order(
    always_blue_checkpoint: Path, tmp_path: Path
) -> None:
    write_colour_dataset(tmp_path, ("red",), per_class=2)  # only red: index 1 of the model
    (tmp_path / "red" / "broken.png").write_bytes(b"not a png")
    report = evaluate(always_blue_checkpoint, tmp_path, device="cpu")
    assert report.labels == ("blue", "red")
    assert report.confusion == ((0, 0), (2, 0))
    assert report.per_class == {"red": (0, 2)}
    assert report.skipped_images == 1


def test_val_folder_of_a_split_layout_is_evaluated(
    always_blue_checkpoint: Path, split_colour_dataset: Path
) -> None:
    report = evaluate(always_blue_checkpoint, split_colour_dataset, device="cpu")
    assert report.folder.endswith("val")
    assert report.total == 8 and report.per_class["blue"] == (4, 4)


def test_unknown_class_folder_is_an_error(
    always_blue_checkpoint: Path, three_blue_two_red: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(three_blue_two_red, data)
    write_colour_dataset(data, ("green",), per_class=1)
    with pytest.raises(DatasetError, match="does not know: green"):
        evaluate(always_blue_checkpoint, data, device="cpu")


def test_lrn_layers_are_replaced_only_in_the_paper_network() -> None:
    assert replace_lrn(build_model("paper", num_classes=2)) == 2
    assert replace_lrn(build_model("torchvision", num_classes=2)) == 0


def test_benchmark_reports_mean_and_spread_after_warmup() -> None:
    calls: list[tuple[str, int, int]] = []
    result = benchmark(
        "torchvision",
        batch_size=2,
        input_size=64,
        device="cpu",
        iterations=2,
        warmup=1,
        on_progress=lambda *call: calls.append(call),
    )
    assert result is not None
    assert result.forward.iterations == 2 and result.forward_backward is not None
    assert result.forward.min_ms <= result.forward.mean_ms and result.forward.std_ms >= 0
    assert [c for c in calls if c[0] == "forward"][-1] == ("forward", 3, 3)
    assert benchmark("paper", input_size=67, batch_size=1, iterations=1, warmup=0,
                     lrn=False, is_cancelled=lambda: True) is None  # fmt: skip
