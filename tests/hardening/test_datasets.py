"""Training and evaluation data that cannot be used, in the core: one DatasetError line.

Missing folders, no class folders, one class and empty classes are checked by
tests/core/test_training.py (scan_classes); the command line's side is in test_cli.py. These
are the cases found by hardening: folders whose every image is unreadable used to "train" an
untouched model with a NaN loss and exit 0, and evaluate one at accuracy 0 of 0 images.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alexnet_gui.core.errors import DatasetError
from alexnet_gui.core.training.evaluation import evaluate
from alexnet_gui.core.training.loop import TrainConfig, train

UNREADABLE = b"\xff\xd8\xff\xe0 a jpeg that stops here"


@pytest.fixture
def unreadable_dataset(tmp_path: Path) -> Path:
    """blue/ and red/, three files each, all named like JPEGs and none decodable."""
    root = tmp_path / "data"
    for name in ("blue", "red"):
        (root / name).mkdir(parents=True)
        for index in range(3):
            (root / name / f"{index}.jpg").write_bytes(UNREADABLE)
    return root


def test_training_on_unreadable_images_is_refused_and_writes_nothing(
    unreadable_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model.pth"
    config = TrainConfig(unreadable_dataset, out, init="scratch", input_size=64, epochs=2,
                         batch_size=4, device="cpu")
    with pytest.raises(DatasetError, match=r"None of the 4 training images could be read"):
        train(config)
    assert not out.exists() and not Path(f"{out}.last").exists()


def test_evaluating_on_unreadable_images_is_refused(unreadable_dataset: Path,
                                                    always_blue_checkpoint: Path) -> None:
    with pytest.raises(DatasetError, match=r"None of the 6 images in .*data could be read"):
        evaluate(always_blue_checkpoint, unreadable_dataset, device="cpu")
