"""``alexnet-gui bench``: forward and forward+backward time per batch, as a table.

Exit status: 0 measured, 1 an impossible setting (one line on stderr), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys

from alexnet_gui.cli.train import non_negative_int, positive_int
from alexnet_gui.core.inference.devices import DEVICES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time forward and forward+backward passes per batch",
        description=(
            "Time a random-initialised AlexNet on random input: mean and standard deviation "
            "per batch after warm-up, as the classic convnet-benchmarks report."
        ),
    )
    parser.add_argument("--arch", choices=("torchvision", "paper"), default="torchvision")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N")
    parser.add_argument("--input-size", type=positive_int, metavar="N", help="default 224/227")
    parser.add_argument(
        "--no-lrn", action="store_true", help="replace LRN with Identity (paper architecture)"
    )
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--iterations", type=positive_int, default=10, metavar="N")
    parser.add_argument("--warmup", type=non_negative_int, default=2, metavar="N")
    parser.add_argument("--forward-only", action="store_true", help="skip forward+backward")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from alexnet_gui.core.inference.benchmark import benchmark

    if args.no_lrn and args.arch != "paper":
        print(
            "alexnet-gui bench: note: the torchvision architecture has no LRN layers; "
            "--no-lrn changes nothing",
            file=sys.stderr,
        )
    result = benchmark(
        args.arch,
        batch_size=args.batch_size,
        input_size=args.input_size,
        lrn=not args.no_lrn,
        device=args.device,
        iterations=args.iterations,
        warmup=args.warmup,
        backward=not args.forward_only,
    )
    assert result is not None  # nothing cancels it here; Ctrl+C raises
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    lrn = " (LRN)" if result.lrn else " (no LRN)" if result.arch == "paper" else ""
    print(
        f"AlexNet {result.arch}{lrn}, batch {result.batch_size}, "
        f"{result.input_size}x{result.input_size}, {result.device}, {result.threads} threads; "
        f"{result.forward.iterations} iterations after {result.warmup} warm-up"
    )
    print(f"{'pass':<18} {'mean ms':>10} {'std ms':>9} {'min ms':>10} {'images/s':>10}")
    rows = (("forward", result.forward), ("forward+backward", result.forward_backward))
    for name, timing in rows:
        if timing is not None:
            print(
                f"{name:<18} {timing.mean_ms:>10.2f} {timing.std_ms:>9.2f} {timing.min_ms:>10.2f} "
                f"{result.images_per_second(timing):>10.1f}"
            )
    return 0
