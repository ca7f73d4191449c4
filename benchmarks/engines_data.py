"""What ``benchmarks/engines.py`` measures on: a trained model, its test images, a JPEG folder.

No ImageNet weights exist here, so quality is measured on Fashion-MNIST with a model trained for
the purpose. Training all of AlexNet at 224 px takes hours on two cores, so this fine-tune keeps
the random conv layers and trains fc6-fc8 on their pool5 features, computed once: a few minutes,
and well above chance (about 80% top-1), which is all an agreement and accuracy-delta measurement
needs. The checkpoint is an ordinary alexnet-gui checkpoint whose ``training.data_dir`` names the
export, so engines calibrate on its training images exactly as they would for a user's model.
Everything is cached under ``out/engines-bench/`` and rebuilt only when missing.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from alexnet_gui.core.imaging.decode import find_images, load_image
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.models.architectures import build_model
from alexnet_gui.core.models.checkpoints import checkpoint_dict, save_checkpoint
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "out" / "engines-bench"
PER_CLASS = 300  # train and test images per class in the export
JPEG_COUNT = 256
JPEG_SIZE = (640, 480)


def fashion_mnist() -> Path:
    """The export (``train/`` and ``val/``, 300 images per class each), made once."""
    folder = WORK / f"fashion-mnist-{PER_CLASS}"
    if not (folder / "val").is_dir():
        script = REPO / "scripts" / "export_fashion_mnist.py"
        command = [sys.executable, str(script), str(folder), "--limit-per-class", str(PER_CLASS)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return folder


def labelled(folder: Path) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Image paths, class indices and class names of a class-per-folder tree."""
    classes = tuple(sorted(p.name for p in folder.iterdir() if p.is_dir()))
    paths, labels = [], []
    for index, name in enumerate(classes):
        found = find_images([folder / name])
        paths += found
        labels += [index] * len(found)
    return paths, labels, classes


def inputs(paths: list[Path], pre: Preprocessing) -> torch.Tensor:
    """Model inputs through the app's still-image path (the reference preprocessing)."""
    transform = eval_transform(pre)
    return torch.stack([transform(load_image(path)) for path in paths])


def trained_checkpoint(*, minutes: float = 4.0) -> Path:
    """A torchvision AlexNet with random conv layers and fc6-fc8 trained on Fashion-MNIST."""
    path = WORK / "fmnist-alexnet-224.pt"
    if path.is_file():
        return path
    data = fashion_mnist()
    paths, labels, classes = labelled(data / "train")
    pre = Preprocessing()
    torch.manual_seed(0)
    model = build_model("torchvision", num_classes=len(classes)).eval()
    print(f"fine-tune: pool5 features of {len(paths)} images ...", file=sys.stderr, flush=True)
    with torch.inference_mode():
        features = torch.cat(
            [
                torch.flatten(model.avgpool(model.features(chunk)), 1)
                for chunk in inputs(paths, pre).split(64)
            ]
        )
    targets = torch.tensor(labels)
    head: nn.Module = model.classifier.train()
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-4, weight_decay=1e-4)
    started, epoch = time.perf_counter(), 0
    while time.perf_counter() - started < minutes * 60 and epoch < 30:
        epoch += 1
        order = torch.randperm(len(targets))
        correct = 0
        for batch in order.split(64):
            logits = head(features[batch].clone())
            loss = nn.functional.cross_entropy(logits, targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            correct += int((logits.argmax(1) == targets[batch]).sum())
        print(f"  epoch {epoch}: train acc {correct / len(targets):.3f}", file=sys.stderr)
    model.eval()
    spec = WeightsSpec(
        name="fashion-mnist (fc6-8 fine-tune)",
        arch="torchvision",
        categories=classes,
        preprocessing=pre,
        source="benchmarks/engines_data.py",
    )
    training = {"data_dir": str(data), "recipe": "random conv layers, fc6-8 on pool5 features"}
    save_checkpoint(path, checkpoint_dict(model, spec, training=training))
    return path


def jpeg_folder() -> Path:
    """640x480 JPEGs (quality 90) cut from the bundled real photos, for end-to-end timing."""
    folder = WORK / "jpegs-640x480"
    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == JPEG_COUNT:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted((REPO / "resources" / "calibration").glob("*.jpg"))
    rng = random.Random(0)
    for index in range(JPEG_COUNT):
        photo = Image.open(photos[index % len(photos)]).convert("RGB")
        width, height = photo.size
        w = rng.randint(width // 2, width)
        h = min(height, round(w * 3 / 4))
        left, top = rng.randint(0, width - w), rng.randint(0, height - h)
        crop = photo.crop((left, top, left + w, top + h)).resize(
            JPEG_SIZE, Image.Resampling.BICUBIC
        )
        crop.save(folder / f"{index:04d}.jpg", quality=90)
    return folder


def photo_views(count_per_photo: int = 8, seed: int = 1) -> list[Image.Image]:
    """Crops of skimage's real photos (the same pictures the app bundles), for the random model."""
    from skimage import data

    names = ("astronaut", "chelsea", "coffee", "rocket", "camera", "horse", "retina", "cell")
    rng = np.random.default_rng(seed)
    views = []
    for name in names:
        image = Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB")
        width, height = image.size
        for _ in range(count_per_photo):
            side = int(rng.integers(min(width, height) // 2, min(width, height) + 1))
            left = int(rng.integers(0, width - side + 1))
            top = int(rng.integers(0, height - side + 1))
            views.append(image.crop((left, top, left + side, top + side)))
    return views
