"""Write Debian's Fashion-MNIST as PNG files in the layout ``alexnet-gui train`` reads.

    python scripts/export_fashion_mnist.py OUT_DIR [--limit-per-class N]

gives ``OUT_DIR/train/<class>/<n>.png`` (the 60,000 training images) and ``OUT_DIR/val/<class>/``
(the official 10,000-image test set). The images stay 28x28 grayscale; the app's loader makes
them RGB and the training resizes them. Reads the idx files of the ``dataset-fashion-mnist``
package (``apt-get install dataset-fashion-mnist``); needs only numpy and Pillow.
"""

from __future__ import annotations

import argparse
import gzip
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_SOURCE = Path("/usr/share/datasets/fashion-mnist")
CLASSES: tuple[str, ...] = (
    "T-shirt_top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle_boot",
)
SPLITS: dict[str, str] = {"train": "train", "val": "t10k"}  # our folder: the idx file prefix


class ExportError(Exception):
    """A problem the user can fix, reported as one line."""


def read_idx(path: Path) -> np.ndarray:
    """An idx file (gzip-compressed) as a uint8 array: (n,) labels or (n, rows, cols) images."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError as exc:
        raise ExportError(
            f"{path} not found: install the data with `apt-get install dataset-fashion-mnist` "
            "or give its folder with --source."
        ) from exc
    except (OSError, EOFError) as exc:
        raise ExportError(f"{path} is damaged ({exc}).") from exc
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ExportError(f"{path} is not an idx file of unsigned bytes.")
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def export_split(
    source: Path, prefix: str, target: Path, *, limit_per_class: int | None = None
) -> int:
    """Write one split's images into ``target/<class>/``; returns how many were written."""
    images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
    if len(images) != len(labels):
        raise ExportError(f"{prefix}: {len(images)} images but {len(labels)} labels.")
    for name in CLASSES:
        (target / name).mkdir(parents=True, exist_ok=True)
    written = [0] * len(CLASSES)
    for index, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        if limit_per_class is not None and written[label] >= limit_per_class:
            continue
        path = target / CLASSES[label] / f"{index:05d}.png"
        Image.fromarray(pixels, "L").save(path, compress_level=1)
        written[label] += 1
    return sum(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    parser.add_argument("--limit-per-class", type=int, metavar="N", help="at most N per class")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the idx files")
    args = parser.parse_args(argv)
    if args.limit_per_class is not None and args.limit_per_class < 1:
        parser.error("--limit-per-class must be at least 1")
    if not args.source.is_dir():
        print(
            f"export_fashion_mnist: {args.source} not found: install the data with "
            "`apt-get install dataset-fashion-mnist` or give its folder with --source.",
            file=sys.stderr,
        )
        return 1
    try:
        for folder, prefix in SPLITS.items():
            count = export_split(
                args.source, prefix, args.out_dir / folder, limit_per_class=args.limit_per_class
            )
            print(f"{args.out_dir / folder}: {count} images in {len(CLASSES)} classes")
    except ExportError as exc:
        print(f"export_fashion_mnist: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"export_fashion_mnist: cannot write {args.out_dir}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
