"""``alexnet-gui export``: a model as an ONNX or OpenVINO IR file other programs can run.

The class names and the pre-processing go into the file's metadata (examples/run_exported.py
reads them without this app). Exit status: 0 written, 1 any error (one line on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alexnet_gui.core.export.exporter import FORMATS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a model as ONNX or OpenVINO IR, for programs without this app",
        description=(
            "Write a torchvision state_dict, the ImageNet file or an alexnet-gui checkpoint as "
            "ONNX (opset 17) or OpenVINO IR (.xml + .bin), with a free batch size and the "
            "class names and pre-processing in the file's metadata. The written file is run "
            "and compared with PyTorch before it is put in place."
        ),
    )
    parser.add_argument("weights", metavar="CHECKPOINT_OR_WEIGHTS",
                        help="state_dict, ImageNet weights file or alexnet-gui checkpoint")
    parser.add_argument("--format", choices=FORMATS, required=True, help="onnx or openvino")
    parser.add_argument("--out", metavar="FILE",
                        help="where to write (default: NAME.onnx / NAME.xml beside the weights; "
                             "NAME-int8... with --int8)")
    parser.add_argument("--int8", action="store_true",
                        help="quantise to int8, calibrated on real images as the app's int8 "
                             "engine is (its training images for a checkpoint of `train`)")
    parser.add_argument("--calibrate-with", metavar="PATH", nargs="+", default=[],
                        help="image files or folders to add to the int8 calibration")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet_gui.core.export.exporter import export_model
    from alexnet_gui.core.imaging.decode import find_images

    images = find_images(args.calibrate_with) if args.calibrate_with else []
    if args.calibrate_with and not images:
        print("alexnet-gui export: no image files in --calibrate-with", file=sys.stderr)
        return 1
    report = export_model(
        Path(args.weights), args.format, Path(args.out) if args.out else None,
        int8=args.int8, images=images, progress=_progress,
    )  # fmt: skip
    for line in report.lines():
        print(line)
    if report.warning:
        print(f"alexnet-gui export: warning: {report.warning}", file=sys.stderr)
    return 0


def _progress(text: str, done: int, total: int) -> None:
    """One line per stage on a terminal; nothing into a file or a log."""
    if sys.stderr.isatty() and done < total:
        print(f"[{done + 1}/{total}] {text}", file=sys.stderr)
