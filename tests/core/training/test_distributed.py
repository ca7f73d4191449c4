"""Training, classify and evaluate under ``torchrun``: two CPU processes with gloo.

The processes are started the way a user starts them, through torchrun's Python entry point
(``python -m torch.distributed.run --standalone``, which picks a free port), running the
``alexnet-gui`` command line through a small driver (``torchrun_driver.py``). The data are a few
64 px images, so the three runs cost seconds, mostly process start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from alexnet_gui.cli import main
from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.training.distributed import (
    Cluster,
    cluster,
    in_input_order,
    interleave,
    per_process_batch,
    share,
)
from alexnet_gui.core.training.evaluation import Predictions, merged
from alexnet_gui.core.training.loop import TrainConfig, resume_file, train
from alexnet_gui.core.training.state import prepare_run
from tests.fixtures.datasets import write_colour_dataset

REPO = Path(__file__).resolve().parents[3]
# 2 classes x 10 images, val_split 0.2: 16 training images, two global batches of 8 an epoch,
# so no process gets the sampler's padding and one process must match two exactly.
TRAIN_ARGS = [
    "--from", "scratch", "--input-size", "64", "--batch-size", "8", "--lr", "0.02",
    "--epochs", "2", "--val-split", "0.2", "--device", "cpu", "--seed", "3",
]  # fmt: skip


def torchrun(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "--monitor_interval", "0.1", "-m", "tests.core.training.torchrun_driver", *args,
    ]  # fmt: skip
    environ = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        command, cwd=REPO, env=environ, capture_output=True, text=True, timeout=240, check=False
    )


@pytest.fixture(scope="module")
def twenty_squares(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_colour_dataset(tmp_path_factory.mktemp("ddp-data"), ("red", "blue"), per_class=10)


# -- the pieces, in one process -----------------------------------------------------------------


def test_alone_without_torchrun_variables() -> None:
    assert cluster({}) == Cluster()
    place = cluster({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"})
    assert (place.rank, place.world_size, place.local_rank, place.is_main) == (2, 4, 0, False)


def test_shares_interleave_back_to_input_order() -> None:
    items = list(range(11))
    shares = [share(items, Cluster(rank, 3)) for rank in range(3)]
    assert shares[0] == [0, 3, 6, 9] and interleave(shares) == items
    assert list(in_input_order(Cluster(), items, lambda part: [x * 2 for x in part])) == [
        x * 2 for x in items
    ]


def test_global_batch_must_divide_among_processes() -> None:
    assert per_process_batch(32, Cluster(0, 4)) == 8
    with pytest.raises(UserFacingError, match="multiple of 4"):
        per_process_batch(30, Cluster(0, 4))


def test_merged_predictions_keep_input_order_and_broken_images() -> None:
    # Images 0..4: rank 0 has 0, 2, 4 (2 broken), rank 1 has 1, 3.
    rank0 = Predictions(torch.tensor([10, 14]), torch.tensor([0, 4]), (1,))
    rank1 = Predictions(torch.tensor([11, 13]), torch.tensor([1, 3]), ())
    both = merged([rank0, rank1])
    assert both.predicted.tolist() == [10, 11, 13, 14] and both.labels.tolist() == [0, 1, 3, 4]
    assert both.broken == (2,)


# -- two processes -----------------------------------------------------------------------------


@pytest.mark.slow
def test_two_processes_train_the_weights_one_process_trains(
    twenty_squares: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ddp" / "squares.pt"
    done = torchrun(
        ["train", str(twenty_squares), "--out", str(out), *TRAIN_ARGS],
        tmp_path,
        ALEXNET_TEST_NO_DROPOUT="1",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "x 2 processes (gloo); global batch 8 (4 per process), peak lr 0.02" in done.stdout
    assert done.stdout.count("epoch   2/2") == 1  # rank 0 alone reports

    # One process, the same global batch; dropout off as in the driver.
    monkeypatch.setattr(torch.nn.Dropout, "forward", lambda self, x: x)
    alone = tmp_path / "alone" / "squares.pt"
    config = TrainConfig(
        data_dir=twenty_squares, out=alone, init="scratch", input_size=64, batch_size=8,
        lr=0.02, epochs=2, val_split=0.2, device="cpu", seed=3,
    )  # fmt: skip
    result = train(config)
    ddp_state = torch.load(resume_file(out), weights_only=True)
    one_state = torch.load(resume_file(alone), weights_only=True)
    for name, tensor in one_state["state_dict"].items():
        torch.testing.assert_close(ddp_state["state_dict"][name], tensor, atol=1e-4, rtol=1e-4)
    ddp_history = ddp_state["resume"]["history"]
    for ours, theirs in zip(ddp_history, [m.as_dict() for m in result.history], strict=True):
        assert ours["val_acc"] == theirs["val_acc"]  # reduced over both processes' shares
        assert ours["train_acc"] == theirs["train_acc"]
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-4)


@pytest.mark.slow
def test_two_processes_classify_as_one_does(
    photo_folder: Path,
    small_checkpoint_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [
        "classify", str(photo_folder), "--weights", str(small_checkpoint_file), "--json",
        "--device", "cpu", "--engine", "pytorch", "--topk", "2",
    ]  # fmt: skip
    done = torchrun(args, tmp_path)
    assert done.returncode != 0  # photo_folder holds a broken file: exit status 1, as alone
    assert "exitcode  : 1" in done.stderr
    two = json.loads(done.stdout)
    capsys.readouterr()
    assert main(args) == 1
    one = json.loads(capsys.readouterr().out)
    assert [entry["path"] for entry in two] == [entry["path"] for entry in one]
    for ours, theirs in zip(two, one, strict=True):
        assert ours.get("error") == theirs.get("error")
        for a, b in zip(ours.get("predictions", []), theirs.get("predictions", []), strict=True):
            assert (a["rank"], a["label"]) == (b["rank"], b["label"])
            assert a["probability"] == pytest.approx(b["probability"], abs=1e-5)


@pytest.mark.slow
def test_a_killed_process_ends_the_run_with_a_resumable_last(
    twenty_squares: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed" / "squares.pt"
    # Rank 1 dies loading the first image of its second batch: rank 0 has taken one step and
    # waits for rank 1 in the next. One epoch keeps the test short.
    done = torchrun(
        ["train", str(twenty_squares), "--out", str(out), *TRAIN_ARGS, "--epochs", "1"],
        tmp_path,
        ALEXNET_TEST_KILL="1:1:5",
    )
    assert done.returncode != 0
    assert "epoch   1/1" not in done.stdout
    assert "process 1 of 2: the run stopped because another process failed" in done.stderr, (
        done.stderr[-4000:]
    )
    assert f"saved to {resume_file(out)} (continue with --resume" in done.stderr
    # One process picks the run up where two left it: epoch 1 again, from its start.
    resumed = TrainConfig(data_dir=twenty_squares, out=out, device="cpu", resume=True)
    assert prepare_run(resumed, ("blue", "red")).history == []
    result = train(resumed)
    assert [m.epoch for m in result.history] == [1] and not result.cancelled
