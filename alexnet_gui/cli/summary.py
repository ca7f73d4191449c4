"""``alexnet-gui summary``: the layer table of either architecture."""

from __future__ import annotations

import argparse
import json

from alexnet_gui.core.models.architectures import ARCHITECTURES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "summary", help="print the layer table (name, type, output shape, parameters)"
    )
    parser.add_argument("--arch", choices=ARCHITECTURES, default="torchvision")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet_gui.core.models.summary import format_summary, summarize

    summary = summarize(args.arch)
    print(json.dumps(summary.as_dict()) if args.json else format_summary(summary))
    return 0
