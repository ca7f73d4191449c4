"""Batch-1 latency and batch-32 throughput: our classify path next to plain torchvision eager.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/inference.py``). Uses the ImageNet
weights when present and random weights otherwise (speed does not depend on the values).
Prints one table; numbers are medians over repeated runs after warm-up.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from timing import times_ms
from torchvision.models import AlexNet_Weights, alexnet

from alexnet_gui.core.errors import WeightsNotFoundError
from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec, load_weights


def _classifier(device: str) -> tuple[Classifier, str]:
    try:
        return Classifier(load_weights(), device=device), "ImageNet weights"
    except WeightsNotFoundError:
        model = alexnet(weights=None).eval()
        return Classifier(LoadedModel(model, imagenet_spec()), device=device), "random weights"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    classifier, weights = _classifier(args.device)
    device = classifier.device
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8))
    photos = [photo] * args.batch_size
    reference = alexnet(weights=None).eval().to(device)
    reference.load_state_dict(classifier.model.state_dict())
    preset = AlexNet_Weights.IMAGENET1K_V1.transforms()
    one = preset(photo).unsqueeze(0).to(device)
    many = one.repeat(args.batch_size, 1, 1, 1)

    def eager(batch: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            with torch.inference_mode():
                out = reference(batch)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return out

        return run

    rows = [
        ("torchvision eager, model only", times_ms(eager(one), args.repeat, 5),
         times_ms(eager(many), max(5, args.repeat // 3), 2)),
        ("alexnet-gui classify, 640x480 image in", times_ms(
            lambda: classifier.classify(photo), args.repeat, 5),
         times_ms(lambda: classifier.classify_batch(photos), max(5, args.repeat // 3), 2)),
    ]
    print(f"device: {device}  threads: {torch.get_num_threads()}  weights: {weights}")
    print(f"{'path':<42}{'batch-1 ms (p50)':>18}{'p90':>8}{f'batch-{args.batch_size} img/s':>16}")
    for name, single, batch in rows:
        p50 = statistics.median(single)
        p90 = statistics.quantiles(single, n=10)[-1]
        throughput = args.batch_size / (statistics.median(batch) / 1000.0)
        print(f"{name:<42}{p50:>18.2f}{p90:>8.2f}{throughput:>16.1f}")


if __name__ == "__main__":
    main()
