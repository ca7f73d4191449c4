"""Start-up: how soon the window is on screen, the model loaded and the first image classified.

Each run launches ``python -m alexnet_gui --weights FILE IMAGE`` in a fresh process on the
offscreen platform with ``ALEXNET_GUI_TIMING=1`` (the app prints a wall-clock stamp per event)
and ``ALEXNET_GUI_QUIT_AFTER=first_result``, and measures from just before the launch. Settings
go to a temporary folder, never the user's. Without ``--weights`` a random AlexNet state_dict is
saved first: it is the same size as the ImageNet file, so loading it takes as long.

    .venv/bin/python benchmarks/startup.py [--runs 5] [--weights FILE] [--image FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ("window_shown", "model_loaded", "first_result")


def make_inputs(folder: Path) -> tuple[Path, Path]:
    """A random state_dict and a photo (skimage's chelsea, or a gradient without skimage)."""
    import numpy as np
    import torch
    from PIL import Image
    from torchvision.models import alexnet

    weights = folder / "alexnet-random.pth"
    torch.save(alexnet(weights=None).state_dict(), weights)
    try:
        from skimage import data

        pixels = data.chelsea()
    except ImportError:
        pixels = np.linspace(0, 255, 300 * 450 * 3).reshape(300, 450, 3).astype(np.uint8)
    image = folder / "chelsea.png"
    Image.fromarray(pixels).save(image)
    return weights, image


def one_run(weights: Path, image: Path, config: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(config),
        "ALEXNET_GUI_TIMING": "1",
        "ALEXNET_GUI_QUIT_AFTER": "first_result",
    }
    command = [sys.executable, "-m", "alexnet_gui", "--weights", str(weights), str(image)]
    start = time.time()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    end = time.time()
    if done.returncode != 0:
        raise SystemExit(f"the app exited with {done.returncode}:\n{done.stderr}")
    stamps = {}
    for line in done.stdout.splitlines():
        if line.startswith("alexnet-gui-timing "):
            _, event, stamp = line.split()
            stamps[event] = float(stamp) - start
    missing = [event for event in EVENTS if event not in stamps]
    if missing:
        raise SystemExit(f"no timing for {missing}; stdout:\n{done.stdout}\n{done.stderr}")
    stamps["exited"] = end - start
    return stamps


def reference(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--image", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alexnet-gui-startup-") as tmp:
        folder = Path(tmp)
        weights, image = make_inputs(folder)
        weights = args.weights or weights
        image = args.image or image
        rows = [one_run(weights, image, folder / f"config{i}") for i in range(args.runs)]
    columns = (*EVENTS, "exited")
    print(f"alexnet-gui start-up, {args.runs} runs, seconds since launch ({sys.platform}, "
          f"{os.cpu_count()} CPUs, offscreen)\n")
    print(f"{'run':>6} " + " ".join(f"{c:>14}" for c in columns))
    for i, row in enumerate(rows, 1):
        print(f"{i:>6} " + " ".join(f"{row[c]:>14.2f}" for c in columns))
    medians = {c: statistics.median(row[c] for row in rows) for c in columns}
    print(f"{'median':>6} " + " ".join(f"{medians[c]:>14.2f}" for c in columns))
    print("\nfor reference, in a fresh interpreter:")
    print(f"  import PyQt5.QtWidgets: {reference('import PyQt5.QtWidgets'):.2f} s")
    print(f"  import torch, torchvision: {reference('import torch, torchvision'):.2f} s")


if __name__ == "__main__":
    main()
