"""``alexnet-gui train``, ``evaluate`` and ``bench``: exit status, stdout and one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import alexnet_gui.cli as cli
from alexnet_gui.cli.train import ProgressReporter
from alexnet_gui.core.models.weights import load_weights
from alexnet_gui.core.training.loop import TrainProgress

OUR_COMMANDS = ("train", "evaluate", "bench")
TINY_RUN = ["--from", "scratch", "--input-size", "64", "--batch-size", "8", "--device", "cpu"]


@pytest.fixture(autouse=True)
def our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the commands until alexnet_gui.cli lists them itself."""
    missing = tuple(name for name in OUR_COMMANDS if name not in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + missing)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_train_writes_a_checkpoint_and_reports_each_epoch(
    split_colour_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "colours.pt"
    status, stdout, stderr = run(
        ["train", str(split_colour_dataset), "--out", str(out), "--epochs", "1", *TINY_RUN], capsys
    )
    assert status == 0, stderr
    assert "training from scratch" in stdout
    assert "epoch   1/1" in stdout and "saved (best)" in stdout
    assert f"saved to {out}" in stdout
    assert "epoch 1/1 train" not in stderr  # stderr is no terminal here: no bar
    assert "1 unreadable image(s) skipped" in stderr
    assert load_weights(out).spec.categories == ("blue", "red")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--input-size", "40"], "at least 63 px"),
        (["--resume"], "Nothing to resume"),
        (["--from", "missing.pt"], "not found"),
    ],
)
def test_train_problems_are_one_line_and_exit_1(
    tiny_colour_dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    args = ["train", str(tiny_colour_dataset), "--out", str(tmp_path / "m.pt"), *extra]
    status, _, stderr = run(args, capsys)
    assert status == 1
    assert stderr.count("\n") == 1 and message in stderr
    assert stderr.startswith("alexnet-gui train: ")


def test_train_on_a_missing_folder_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, stderr = run(["train", str(tmp_path / "no"), "--out", "m.pt"], capsys)
    assert status == 1 and stderr.count("\n") == 1 and "not found" in stderr


@pytest.mark.parametrize(
    "extra", [["--epochs", "0"], ["--val-split", "1.5"], ["--lr", "-1"], ["--arch", "vgg"], []]
)
def test_train_usage_errors_exit_2(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", str(tmp_path), *extra] + (["--out", "m.pt"] if extra else [])
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_ctrl_c_saves_state_exits_130_and_resume_finishes(
    tiny_colour_dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "m.pt"
    args = ["train", str(tiny_colour_dataset), "--out", str(out), "--epochs", "1", *TINY_RUN]
    original = ProgressReporter.update

    def interrupted(self: ProgressReporter, progress: TrainProgress) -> None:
        if progress.phase == "train":
            raise KeyboardInterrupt
        original(self, progress)

    monkeypatch.setattr(ProgressReporter, "update", interrupted)
    status, _, stderr = run(args, capsys)
    assert status == 130
    assert stderr.count("\n") == 1 and "interrupted" in stderr and "--resume" in stderr
    assert Path(f"{out}.last").exists() and not out.exists()

    monkeypatch.setattr(ProgressReporter, "update", original)
    status, stdout, stderr = run([*args, "--resume"], capsys)
    assert status == 0, stderr
    assert "epoch   1/1" in stdout and out.exists()


def test_progress_bar_is_redrawn_in_place_on_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    reporter = ProgressReporter(out, err, tty=True)
    for batch in (1, 2):
        reporter.update(TrainProgress("train", 1, 3, batch, 4, loss=0.5, train_acc=0.75))
    assert "\r" in err.getvalue() and "epoch 1/3 train" in err.getvalue()
    reporter.update(TrainProgress("epoch", 1, 3, loss=0.5, train_acc=0.75, val_acc=0.5))
    assert "val acc 0.5000" in out.getvalue() and "\r" not in out.getvalue()


def test_progress_bar_is_quiet_off_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()  # StringIO.isatty() is False: a log
    reporter = ProgressReporter(out, err)
    reporter.update(TrainProgress("train", 1, 3, 4, 4, loss=0.5, train_acc=0.75))
    reporter.update(TrainProgress("epoch", 1, 3, loss=0.5, train_acc=0.75, val_acc=0.5))
    assert err.getvalue() == "" and out.getvalue().startswith("epoch   1/3")


def test_evaluate_prints_a_table_and_json(
    always_blue_checkpoint: Path, three_blue_two_red: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", str(three_blue_two_red), "--weights", str(always_blue_checkpoint)]
    status, stdout, _ = run([*args, "--device", "cpu"], capsys)
    assert status == 0
    assert "accuracy 0.6000 (3 of 5 images)" in stdout
    assert "  0  blue" in stdout and "  1  red" in stdout
    status, stdout, _ = run([*args, "--json"], capsys)
    data = json.loads(stdout)
    assert status == 0 and data["accuracy"] == pytest.approx(0.6)
    assert data["confusion"] == [[3, 0], [2, 0]] and data["labels"] == ["blue", "red"]


def test_evaluate_unknown_class_exits_1(
    always_blue_checkpoint: Path, tiny_colour_dataset: Path, tmp_path: Path, capsys
) -> None:
    data = tmp_path / "data"
    (data / "purple").mkdir(parents=True)
    (data / "red").symlink_to(tiny_colour_dataset / "red")
    (data / "purple" / "a.png").symlink_to(next((tiny_colour_dataset / "red").iterdir()))
    status, _, stderr = run(
        ["evaluate", str(data), "--weights", str(always_blue_checkpoint)], capsys
    )
    assert status == 1 and stderr.count("\n") == 1 and "purple" in stderr


def test_bench_prints_forward_and_backward_rows(capsys: pytest.CaptureFixture[str]) -> None:
    small = ["--batch-size", "2", "--iterations", "2", "--warmup", "0", "--device", "cpu"]
    status, stdout, stderr = run(["bench", "--input-size", "64", *small, "--no-lrn"], capsys)
    assert status == 0
    assert "forward " in stdout and "forward+backward" in stdout and "images/s" in stdout
    assert "no LRN layers" in stderr
    status, _, stderr = run(["bench", "--input-size", "40", *small], capsys)
    assert status == 1 and "at least 63 px" in stderr
