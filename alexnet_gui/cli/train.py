"""``alexnet-gui train``: train or fine-tune AlexNet on a class-per-folder image set.

Per-epoch results go to stdout, one line each; a progress bar goes to stderr when it is a
terminal (none in a file or a log). Exit status: 0 done, 1 a problem
with the data, weights or settings (one line on stderr), 2 a usage error, 130 interrupted with
Ctrl+C, after saving ``OUT.last`` for ``--resume``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from alexnet_gui.cli.progress import progress_bar
from alexnet_gui.core.inference.devices import DEVICES

if TYPE_CHECKING:
    from tqdm import tqdm  # type: ignore[import-untyped]

    from alexnet_gui.core.training.loop import TrainProgress

def _number(
    convert: Callable[[str], float], check: Callable[[float], bool], rule: str
) -> Callable[[str], float]:
    """An argparse type: a number of one kind that obeys ``check``, or a usage error."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, not {text}")
        return value

    return parse


positive_int = _number(int, lambda v: v > 0, "a whole number of at least 1")
non_negative_int = _number(int, lambda v: v >= 0, "a whole number of at least 0")
positive_float = _number(float, lambda v: v > 0, "greater than 0")
non_negative_float = _number(float, lambda v: v >= 0, "0 or more")
fraction = _number(float, lambda v: 0 <= v < 1, "at least 0 and less than 1")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train or fine-tune on a folder of images, one sub-folder per class",
        description=(
            "Train AlexNet on DATA_DIR (one folder per class, or train/ and val/ folders of that "
            "shape). Without --from, the ImageNet weights are fine-tuned with frozen features "
            "when present; otherwise the network is trained from scratch. The best epoch is "
            "saved to --out, the latest state to OUT.last for --resume."
        ),
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="the image folder")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="checkpoint")
    parser.add_argument("--arch", choices=("torchvision", "paper"), help="default: torchvision")
    parser.add_argument(
        "--from",
        dest="init",
        metavar="imagenet|scratch|FILE",
        help="starting weights (default: ImageNet if present, else scratch)",
    )
    parser.add_argument(
        "--freeze-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train only fc6-fc8 (default: on when starting from ImageNet)",
    )
    parser.add_argument("--epochs", type=positive_int, metavar="N", help="default 10")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N")
    parser.add_argument(
        "--lr",
        type=positive_float,
        metavar="X",
        help="peak learning rate (default 0.01 from scratch, 0.001 fine-tuning)",
    )
    parser.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    parser.add_argument("--warmup-epochs", type=non_negative_float, default=0.0, metavar="F")
    parser.add_argument(
        "--input-size",
        type=positive_int,
        metavar="N",
        help="crop size (default 224 torchvision, 227 paper; at least 63 / 67)",
    )
    parser.add_argument("--val-split", type=fraction, default=0.2, metavar="F")
    parser.add_argument(
        "--augment",
        choices=("crop", "resized-crop", "none"),
        default="crop",
        help="crop: resize and random crop as in the paper; resized-crop: random scale",
    )
    parser.add_argument(
        "--lighting",
        type=non_negative_float,
        default=0.1,
        metavar="STD",
        help="PCA colour augmentation strength (paper: 0.1; 0 turns it off)",
    )
    parser.add_argument("--tta", action="store_true", help="validate on the ten crops")
    parser.add_argument(
        "--amp", action="store_true", help="mixed precision (bfloat16; faster on recent hardware)"
    )
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT.last with its settings; --epochs, --device, --workers, --tta "
        "and --amp come from this command",
    )
    parser.add_argument("--workers", type=non_negative_int, default=0, metavar="N")
    parser.add_argument("--seed", type=int, default=0, metavar="N")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet_gui.core.training.distributed import cluster
    from alexnet_gui.core.training.loop import TrainConfig, train

    config = TrainConfig(
        data_dir=args.data_dir,
        out=args.out,
        arch=args.arch,
        init=args.init,
        freeze_features=args.freeze_features,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        warmup_epochs=args.warmup_epochs,
        input_size=args.input_size,
        val_split=args.val_split,
        augment=args.augment,
        lighting_std=args.lighting,
        tta=args.tta,
        amp=args.amp,
        device=args.device,
        resume=args.resume,
        workers=args.workers,
        seed=args.seed,
    )
    reporter = ProgressReporter(sys.stdout, sys.stderr)
    result = train(config, on_progress=reporter.update)
    reporter.close()
    if not cluster().is_main:  # under torchrun, rank 0 reports for the run
        return 130 if result.cancelled else 0
    if result.cancelled:
        print(
            f"alexnet-gui train: interrupted; state saved to {result.resume_file} "
            "(continue with --resume)",
            file=sys.stderr,
        )
        return 130
    if result.skipped_images:
        print(
            f"alexnet-gui train: warning: {result.skipped_images} unreadable image(s) skipped",
            file=sys.stderr,
        )
    if result.checkpoint is None:
        print(f"nothing to train: {len(result.history)} epochs are done (raise --epochs)")
        return 0
    best = result.history[result.best_epoch - 1] if result.best_epoch else None
    score = f"val acc {best.val_acc:.4f}" if best and best.val_acc is not None else "no val set"
    print(f"best: epoch {result.best_epoch} ({score}) saved to {result.checkpoint}")
    print(f"resumable state: {result.resume_file}")
    return 0


class ProgressReporter:
    """Epoch lines on ``out``; a tqdm bar per phase on ``err``, drawn only on a terminal."""

    def __init__(self, out: TextIO, err: TextIO, *, tty: bool | None = None) -> None:
        self.out, self.err, self._tty = out, err, tty
        self._bar: tqdm | None = None
        self._phase: tuple[int, str] | None = None

    def update(self, progress: TrainProgress) -> None:
        if progress.phase == "setup":
            print(f"training {progress.message}", file=self.out, flush=True)
        elif progress.phase in ("train", "validate"):
            if self._phase != (progress.epoch, progress.phase):
                self.close()
                self._phase = (progress.epoch, progress.phase)
                self._bar = progress_bar(progress.batches, f"epoch {progress.epoch}/"
                                         f"{progress.epochs} {progress.phase}", unit="batch",
                                         stream=self.err, tty=self._tty)
            assert self._bar is not None
            if progress.loss is not None:
                self._bar.set_postfix_str(f"loss {progress.loss:.4f}  acc "
                                          f"{progress.train_acc:.4f}", refresh=False)
            self._bar.update(progress.batch - self._bar.n)
        elif progress.phase == "epoch":
            self.close()
            val = "      -" if progress.val_acc is None else f"{progress.val_acc:.4f}"
            print(
                f"epoch {progress.epoch:>3}/{progress.epochs}  loss {progress.loss:.4f}  "
                f"train acc {progress.train_acc:.4f}  val acc {val}  "
                f"{progress.elapsed_s:8.1f} s{'  saved (best)' if progress.is_best else ''}",
                file=self.out,
                flush=True,
            )

    def close(self) -> None:
        """Take the bar off the screen, so the next line starts at the left margin."""
        if self._bar is not None:
            self._bar.close()
            self._bar, self._phase = None, None
