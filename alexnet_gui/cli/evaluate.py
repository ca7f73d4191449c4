"""``alexnet-gui evaluate``: accuracy, per-class accuracy and confusion matrix on a folder.

The folder has one sub-folder per class, named as the model's classes (``val/`` is used when it
holds ``train/`` and ``val/``). Exit status: 0 evaluated, 1 a problem with the data or weights
(one line on stderr), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from alexnet_gui.cli.train import non_negative_int, positive_int
from alexnet_gui.core.inference.devices import DEVICES

if TYPE_CHECKING:
    from alexnet_gui.core.training.evaluation import EvaluationReport

LABEL_WIDTH = 16


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="accuracy and confusion matrix of a model on a folder of labelled images",
        description=(
            "Evaluate a checkpoint on DATA_DIR, one folder per class named as the model's "
            "classes; DATA_DIR/val is used when DATA_DIR has train/ and val/."
        ),
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="the image folder")
    parser.add_argument(
        "--weights", metavar="FILE", help="checkpoint or state_dict (default: ImageNet weights)"
    )
    parser.add_argument("--tta", action="store_true", help="average the ten crops of TenCrop")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N")
    parser.add_argument("--workers", type=non_negative_int, default=0, metavar="N")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet_gui.core.training.distributed import cluster
    from alexnet_gui.core.training.evaluation import evaluate

    report = evaluate(
        args.weights,
        args.data_dir,
        tta=args.tta,
        batch_size=args.batch_size,
        device=args.device,
        workers=args.workers,
    )
    if not cluster().is_main:  # under torchrun, rank 0 prints the merged report
        return 0
    if report.skipped_images:
        print(
            f"alexnet-gui evaluate: warning: {report.skipped_images} unreadable image(s) skipped",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(format_report(report))
    return 0


def format_report(report: EvaluationReport) -> str:
    """The accuracy line, a per-class table and the confusion matrix, as plain text."""
    tta = ", TenCrop" if report.tta else ""
    lines = [
        f"{report.folder} on {report.device}{tta}",
        f"accuracy {report.accuracy:.4f} ({report.correct} of {report.total} images)",
        "",
        f"{'class':<{LABEL_WIDTH}} {'images':>7} {'accuracy':>9}",
    ]
    for label, (correct, total) in report.per_class.items():
        lines.append(f"{_short(label):<{LABEL_WIDTH}} {total:>7} {correct / total:>9.4f}")
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
    width = max([len(str(n)) for row in report.confusion for n in row] + [2])
    # Columns are numbered and the rows carry the names, so wide labels never break the table.
    lines.append(
        f"{'':<{LABEL_WIDTH + 5}}" + " ".join(f"{i:>{width}}" for i in range(len(report.labels)))
    )
    for index, (label, row) in enumerate(zip(report.labels, report.confusion, strict=True)):
        cells = " ".join(f"{n:>{width}}" for n in row)
        lines.append(f"{index:>3}  {_short(label):<{LABEL_WIDTH}}{cells}")
    return "\n".join(lines)


def _short(label: str) -> str:
    return label if len(label) < LABEL_WIDTH else label[: LABEL_WIDTH - 2] + "…"
