"""Milliseconds per picture of the "look inside" panel, and of each explanation method.

Run with ``.venv/bin/python benchmarks/visualize.py [--device cpu|cuda] [--repeat 30]
[--part all|panel|explain]``. Random weights (speed does not depend on the values, except
Score-CAM's, which skips constant maps: the table says how many it ran); a 640x480 picture, like
a webcam frame. The grids are drawn from activations already on the CPU, as the worker does after
its forward pass; the rows at the bottom time whole passes, with the plain classify path as the
baseline. That table gives medians (p50) and 90th percentiles over repeated runs after warm-up.

The second table times :func:`~alexnet_gui.core.visualize.explain.explain` per method (AlexNet,
one 224x224 crop of a bundled photo, batch 1, default options: relu5, Score-CAM and occlusion 32
at a time, occlusion patch 32 stride 16), as the mean of a few runs after one warm-up, and divides
each by one plain forward pass timed in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import numpy as np
import torch
from PIL import Image
from timing import times_ms

from alexnet_gui.core.engines import cpu
from alexnet_gui.core.engines.calibration import bundled_photos
from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.architectures import build_model
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.core.models.weights import LoadedModel
from alexnet_gui.core.visualize.drawing import feature_grid, feature_map, overlay
from alexnet_gui.core.visualize.explain import METHODS, SLOW_METHODS, ExplainOptions, explain
from alexnet_gui.core.visualize.gradcam import grad_cam
from alexnet_gui.core.visualize.inside import conv1_weights, kernel_grid, look_inside


def _classifier(arch: str, device: str) -> Classifier:
    size = 224 if arch == "torchvision" else 227
    categories = tuple(f"class {i}" for i in range(1000))
    spec = WeightsSpec(arch, arch, categories, Preprocessing.for_input_size(size), "random")
    return Classifier(LoadedModel(build_model(arch), spec), device=device)


def _activations(clf: Classifier, picture: Image.Image, layers: tuple[str, ...]) -> dict:
    """Each layer's raw output, kept by look_inside (one pass per layer, before the timing)."""
    return {ly: look_inside(clf, picture, layer=ly, gradcam=False).activations[ly] for ly in layers}


def synced_on(device: torch.device) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Wrap a timed call so that it waits for CUDA's queued work (a no-op on the CPU)."""

    def synced(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            out = fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return out

        return run

    return synced


def _shape(array: np.ndarray) -> str:
    return "x".join(str(n) for n in array.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain-repeat", type=int, default=5,
                        help="runs per explanation method (the slow two: at most 3)")
    parser.add_argument("--part", choices=("all", "panel", "explain"), default="all")
    args = parser.parse_args()
    print(f"CPU: {cpu.cpu_model()} ({os.cpu_count()} logical CPUs, "
          f"torch threads {torch.get_num_threads()})")  # fmt: skip
    if args.part in ("all", "panel"):
        panel(args)
    if args.part in ("all", "explain"):
        explanations(args)


def explanations(args: argparse.Namespace) -> None:
    """Each method's mean ms per image, and that over one plain forward pass of the same run."""
    torch.manual_seed(0)
    tv = _classifier("torchvision", args.device)
    photo = next(p for p in bundled_photos() if p.stem == "chelsea")
    batch = tv.preprocess(load_image(photo)).to(tv.device)

    synced = synced_on(tv.device)
    def forward() -> object:
        with torch.inference_mode():
            return tv.model(batch)

    forward_ms = statistics.mean(times_ms(synced(forward), max(args.explain_repeat, 10)))
    print(f"\nexplain(): AlexNet torchvision, 1x3x224x224 ({photo.name}), device {tv.device}, "
          f"mean of runs after 1 warm-up")  # fmt: skip
    print(f"{'method':<18}{'settings':<46}{'runs':>5}{'ms/image':>11}{'x forward':>11}")
    print(f"{'forward pass':<18}{'inference_mode, no explanation':<46}"
          f"{max(args.explain_repeat, 10):>5}{forward_ms:>11.1f}{1.0:>11.1f}")  # fmt: skip
    for method in METHODS:
        runs = min(args.explain_repeat, 3) if method in SLOW_METHODS else args.explain_repeat
        mean, passes = _time_method(tv.model, batch, method, runs, synced)
        settings = {"scorecam": f"relu5, {passes} non-constant maps, batch 32",
                    "occlusion": f"patch 32, stride 16: {passes} passes, batch 32",
                    "guided-backprop": ""}.get(method, "relu5")  # fmt: skip
        print(f"{method:<18}{settings:<46}{runs:>5}{mean:>11.1f}{mean / forward_ms:>11.1f}",
              flush=True)  # fmt: skip


def _time_method(model: torch.nn.Module, batch: torch.Tensor, method: str, runs: int,
                 synced: Callable[[Callable[[], object]], Callable[[], object]]
                 ) -> tuple[float, int]:  # fmt: skip
    """Mean ms of ``explain`` with default options, and how many masked passes it ran."""
    options = ExplainOptions(method)
    totals: list[int] = []

    def once() -> object:
        return explain(model, batch, options, progress=lambda _done, total: totals.append(total))

    samples = times_ms(synced(once), runs, warmup=1)
    return statistics.mean(samples), totals[-1] if totals else 0


def panel(args: argparse.Namespace) -> None:
    torch.manual_seed(0)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8))
    display = np.asarray(picture)
    tv = _classifier("torchvision", args.device)
    paper = _classifier("paper", args.device)
    layers = ("conv1", "relu1", "pool1", "conv2", "conv3", "relu5", "pool5", "fc6", "fc8")
    acts = _activations(tv, picture, layers)
    paper_acts = _activations(paper, picture, ("lrn1",))
    crop = look_inside(tv, picture, layer=None, gradcam=False).model_input
    rows: list[tuple[str, str, Callable[[], object]]] = []

    def add(name: str, detail: str, fn: Callable[[], object]) -> None:
        rows.append((name, detail, fn))

    for name, clf in (("kernel grid, torchvision", tv), ("kernel grid, paper", paper)):
        weights = conv1_weights(clf.model)
        add(name, f"{_shape(weights)} x4", lambda w=weights: kernel_grid(w, scale=4))
    for layer in layers:
        add(f"feature grid {layer}", _shape(acts[layer]), lambda ly=layer: feature_grid(acts, ly))
    add("feature grid lrn1 (paper)", _shape(paper_acts["lrn1"]),
        lambda: feature_grid(paper_acts, "lrn1"))  # fmt: skip
    add("feature grid conv1, sorted, per layer", "", lambda: feature_grid(
        acts, "conv1", sort_by_mean=True, normalisation="layer"))  # fmt: skip
    add("feature map conv1 #0, x8", "", lambda: feature_map(acts, "conv1", 0, scale=8))
    add("overlay conv1 #0 on crop", _shape(crop), lambda: overlay(crop, acts["conv1"][0]))
    box = (0.125, 0.0625, 0.875, 0.9375)
    add("overlay 13x13 on picture, crop box", _shape(display),
        lambda: overlay(display, acts["relu5"][0], box=box))  # fmt: skip
    batch = tv.preprocess(picture).to(tv.device)

    synced = synced_on(tv.device)
    add("classify (baseline: forward only)", "640x480", synced(lambda: tv.classify(picture)))
    add("grad_cam (forward + backward)", "1x3x224x224", synced(lambda: grad_cam(tv.model, batch)))
    add("grad_cam, paper", "1x3x227x227", synced(lambda: grad_cam(
        paper.model, paper.preprocess(picture).to(paper.device))))  # fmt: skip
    add("look_inside conv1 + Grad-CAM", "640x480", synced(lambda: look_inside(tv, picture)))
    add("look_inside conv1, no Grad-CAM", "640x480",
        synced(lambda: look_inside(tv, picture, gradcam=False)))  # fmt: skip

    print(f"device: {tv.device}  threads: {torch.get_num_threads()}  repeat: {args.repeat}")
    print(f"{'operation':<40}{'input':>16}{'p50 ms':>10}{'p90 ms':>10}")
    for name, detail, fn in rows:
        samples = times_ms(fn, args.repeat)
        p50 = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:<40}{detail:>16}{p50:>10.2f}{p90:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
