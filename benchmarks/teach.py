"""Teach benchmark: 3 classes x 30 recorded frames, Train to a ready head, live fps, fc7 vs pool5.

    .venv/bin/python benchmarks/teach.py                 # prints the CPU and a table
    .venv/bin/python benchmarks/teach.py --no-fashion    # skip the fc7/pool5 comparison

What it does, with the app's own code (core/training/teach.py):

1. writes a video file whose frames are moving crops of three real photos (skimage's chelsea,
   coffee and astronaut: one class each), reads it back with OpenCV as the camera would, and
   "records" 30 frames a class: each frame saved as a JPEG in a project folder and its fc7
   features computed (the per-frame cost while recording);
2. "Train": the cached features to a fitted head, the taught model built and its checkpoint
   saved (the goal: at most 5 s on this CPU), and the head's held-out accuracy;
3. live classification, frames per second, with the taught model and with the base model
   (PyTorch engine, batch 1, the camera frame's fast path);
4. fc7 against pool5 as the feature layer: a linear head on 30 Fashion-MNIST images a class
   (from /usr/share/datasets/fashion-mnist), accuracy on 100 test images a class.

The base network is the ImageNet AlexNet when its weights are on this machine, else a
He-initialised one from a fixed seed (said in the output): then the accuracies say little about
ImageNet features, but the times are the same.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alexnet_gui.runtime import prepare_process

prepare_process()  # as the app does before torch loads (OpenMP threads wait passively)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from alexnet_gui.core.engines import cpu  # noqa: E402
from alexnet_gui.core.inference.classifier import Classifier  # noqa: E402
from alexnet_gui.core.models.weights import (  # noqa: E402
    LoadedModel,
    find_imagenet_weights,
    imagenet_spec,
    load_weights,
)
from alexnet_gui.core.training import teach, teach_project  # noqa: E402

FRAMES_PER_CLASS = 30
PHOTOS = ("chelsea", "coffee", "astronaut")
FASHION = Path("/usr/share/datasets/fashion-mnist")


def base_model() -> tuple[LoadedModel, str]:
    if find_imagenet_weights() is not None:
        return load_weights(None), "ImageNet AlexNet"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.fixtures.trained import he_initialised_model

    return (LoadedModel(he_initialised_model(1000), imagenet_spec()),
            "He-initialised AlexNet (seed 0; ImageNet weights not on this machine)")


def photo_frames(name: str, count: int, seed: int) -> list[np.ndarray]:
    """``count`` 320x240 frames panning and zooming over a skimage photo, like a moving camera."""
    from skimage import data

    photo = getattr(data, name)()
    photo = np.stack([photo] * 3, -1) if photo.ndim == 2 else photo[..., :3]
    h, w = photo.shape[:2]
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        side = int(min(h, w) * rng.uniform(0.55, 0.95))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = photo[y:y + side, x:x + int(side * 4 / 3) if x + int(side * 4 / 3) <= w else w]
        frames.append(cv2.resize(np.ascontiguousarray(crop), (320, 240)))
    return frames


def record(video: Path, project: Path, cache: teach.FeatureCache) -> tuple[list[float], int]:
    """Read the clip as a camera; save each frame and compute its features. Per-frame ms."""
    capture = cv2.VideoCapture(str(video))
    per_frame, index = [], 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        name = PHOTOS[index // FRAMES_PER_CLASS]
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        start = time.perf_counter()
        path = teach_project.save_frame(project, name, rgb)
        cache.get(path, rgb)
        per_frame.append((time.perf_counter() - start) * 1000.0)
        index += 1
    capture.release()
    return per_frame, index


def train(project: Path, cache: teach.FeatureCache,
          base: LoadedModel) -> tuple[float, teach.HeadFit]:
    """From "Train" to a saved checkpoint: gather cached features, fit, build, save."""
    start = time.perf_counter()
    examples = teach_project.open_project(project)
    classes = sorted(examples)
    paths = [(p, i) for i, c in enumerate(classes) for p in examples[c]]
    features = np.stack([cache.get(p) for p, _ in paths])
    fit = teach.train_head(features, [label for _, label in paths], len(classes))
    taught = teach.build_taught_model(base, classes, fit)
    teach.save_taught_model(project / teach_project.MODEL_FILE, taught, fit, project=project)
    return time.perf_counter() - start, fit


def live_fps(loaded: LoadedModel, frame: np.ndarray, repeat: int = 30) -> float:
    classifier = Classifier(loaded, device="cpu")
    for _ in range(3):
        classifier.classify(frame)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        classifier.classify(frame)
        samples.append(time.perf_counter() - start)
    return 1.0 / statistics.median(samples)


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path) as handle:
        raw = handle.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_accuracy(base: LoadedModel, *, train_per_class: int = 30,
                     test_per_class: int = 100) -> dict[str, float]:
    """A linear head on each layer's features of Fashion-MNIST PNG-sized images."""
    images = read_idx(FASHION / "train-images-idx3-ubyte.gz")
    labels = read_idx(FASHION / "train-labels-idx1-ubyte.gz")
    test_images = read_idx(FASHION / "t10k-images-idx3-ubyte.gz")
    test_labels = read_idx(FASHION / "t10k-labels-idx1-ubyte.gz")

    def pick(lab: np.ndarray, count: int) -> list[int]:
        return [int(i) for c in range(10) for i in np.flatnonzero(lab == c)[:count]]

    train_idx, test_idx = pick(labels, train_per_class), pick(test_labels, test_per_class)
    result = {}
    for layer in teach.FEATURE_LAYERS:
        extractor = teach.FeatureExtractor(base, layer=layer)
        x = extractor.features([Image.fromarray(images[i]).convert("RGB") for i in train_idx])
        xt = extractor.features([Image.fromarray(test_images[i]).convert("RGB")
                                 for i in test_idx])
        w, b = teach.fit_linear(x, [int(labels[i]) for i in train_idx], 10)
        result[layer] = teach.accuracy(w, b, xt, [int(test_labels[i]) for i in test_idx])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-fashion", action="store_true", help="skip fc7 vs pool5")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu.cpu_model()} ({os.cpu_count()} logical CPUs, torch threads "
          f"{torch.get_num_threads()}); load average {os.getloadavg()[0]:.1f}")
    base, described = base_model()
    print(f"Base network: {described}")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        frames = [f for i, n in enumerate(PHOTOS) for f in photo_frames(n, FRAMES_PER_CLASS, i)]
        video = root / "camera.avi"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 240))
        for rgb in frames:
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        writer.release()
        project = root / "project"
        teach_project.open_project(project)
        for name in PHOTOS:
            teach_project.add_class(project, name)
        cache = teach.FeatureCache(teach.FeatureExtractor(base), project)
        cache.extractor.features([frames[0]])  # warm-up, as the worker's first frame pays
        per_frame, count = record(video, project, cache)
        seconds, fit = train(project, cache, base)
        taught = load_weights(project / teach_project.MODEL_FILE)
        frame = frames[len(frames) // 2]
        rows += [
            ("frames recorded", f"{count} ({len(PHOTOS)} classes x {FRAMES_PER_CLASS})"),
            ("save + features per frame, median / max", f"{statistics.median(per_frame):.0f} ms"
             f" / {max(per_frame):.0f} ms"),
            ("Train -> head ready and saved (goal <= 5 s)", f"{seconds:.2f} s"),
            ("  of which fitting the head", f"{fit.seconds:.2f} s ({fit.steps} Adam steps, twice)"),
            ("head accuracy", f"{fit.val_acc:.0%} on {fit.val_count} held-out frames"
             if fit.val_acc is not None else f"{fit.train_acc:.0%} on the training frames"),
            ("live fps, taught model", f"{live_fps(taught, frame):.1f}"),
            ("live fps, base model", f"{live_fps(base, frame):.1f}"),
        ]
    if not args.no_fashion and FASHION.is_dir():
        acc = fashion_accuracy(base)
        rows += [(f"Fashion-MNIST 30/class -> 1000 test, {layer} head", f"{acc[layer]:.1%}")
                 for layer in teach.FEATURE_LAYERS]
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
