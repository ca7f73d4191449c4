"""Teach: a new classifier from a few examples in seconds, on the frozen network's fc7 features.

Training the whole network on thirty frames a class would take minutes and overfit. Instead,
every example goes through the frozen network once, when it is recorded or added, and its fc7
vector (relu7: what fc8 sees) is cached per file. Pressing Train then fits only a new fc8 on
those vectors: a linear softmax head, a few hundred full-batch Adam steps on standardised
features, well under a second for a hundred examples. Features learnt on ImageNet are what make
so few examples enough.

Why fc7 and a linear head: the taught model is the base network with fc8 replaced, so it is
saved in exactly the checkpoint format ``alexnet-gui train`` writes (a whole torchvision AlexNet
state_dict, class names, preprocessing, metrics) and ``classify``, ``evaluate`` and the app load
it unchanged. pool5 features would need a new fc6 and fc7 too. ``benchmarks/teach.py`` compares
the two layers' accuracy.
"""

from __future__ import annotations

import copy
import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from PIL import Image
from torch import nn

from alexnet_gui.core.imaging.decode import load_image
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.models.architectures import last_linear
from alexnet_gui.core.models.checkpoints import checkpoint_dict, save_checkpoint
from alexnet_gui.core.models.weights import LoadedModel
from alexnet_gui.core.training.teach_project import CACHE_DIR

FEATURE_LAYERS = ("fc7", "pool5")
FEATURE_LAYER = "fc7"
HOLDOUT_SHARE = 0.2
#: Each class needs this many examples before a share is held out for an accuracy figure.
MIN_PER_CLASS_FOR_HOLDOUT = 10
HEAD_STEPS = 300
HEAD_LR = 0.3  # on the Gram-matrix coefficients (see fit_linear)
HEAD_WEIGHT_DECAY = 1e-3
BATCH = 16

Progress = Callable[[int, int], None]


class FeatureExtractor:
    """The frozen base network up to ``layer`` (fc7 or pool5), in eval mode, on the CPU."""

    def __init__(self, base: LoadedModel, *, layer: str = FEATURE_LAYER) -> None:
        if layer not in FEATURE_LAYERS:
            raise ValueError(f"unknown feature layer {layer!r}; choose one of {FEATURE_LAYERS}")
        self.base, self.layer = base, layer
        self.spec = base.spec
        self.transform = eval_transform(base.spec.preprocessing)
        model = base.model.eval()
        body = list(model.classifier.children())[:-1]  # type: ignore[union-attr]
        self._fc = nn.Sequential(*body)
        self._body = cast(nn.Module, model.features)
        self._pool = cast(nn.Module, model.avgpool)

    @property
    def key(self) -> str:
        """Names the base weights and the layer: cached features are only reused for these."""
        text = f"{self.spec.source}|{self.spec.arch}|{self.layer}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def features(self, images: Sequence[Image.Image | np.ndarray]) -> np.ndarray:
        """One float32 vector per image (N x 4096 for fc7, N x 9216 for pool5)."""
        if not images:
            return np.zeros((0, 0), np.float32)
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                part = [_pil(i) for i in images[start:start + BATCH]]
                batch = torch.stack([self.transform(i) for i in part])
                x = torch.flatten(self._pool(self._body(batch)), 1)
                if self.layer == "fc7":
                    x = self._fc(x)
                out.append(x.float().numpy())
        return np.ascontiguousarray(np.concatenate(out))


def _pil(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    return Image.fromarray(np.ascontiguousarray(image[..., :3]))


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class FeatureCache:
    """Features per example file, computed once; a changed file (size, mtime) is computed again.

    Kept in memory and, with ``project``, in ``PROJECT/.teach/features-KEY.npz`` (plain arrays,
    no pickle) so a reopened project trains without recomputing anything.
    """

    def __init__(self, extractor: FeatureExtractor, project: Path | None = None) -> None:
        self.extractor = extractor
        self._items: dict[str, tuple[tuple[int, int], np.ndarray]] = {}
        self.computed = 0
        self.file = (project / CACHE_DIR / f"features-{extractor.key}.npz") if project else None
        if self.file is not None and self.file.is_file():
            self._read(self.file)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, path: Path, image: Image.Image | np.ndarray | None = None) -> np.ndarray:
        """``path``'s features; ``image`` (already decoded) saves reading the file again."""
        key, stamp = str(Path(path).resolve()), _stamp(Path(path))
        found = self._items.get(key)
        if found is not None and found[0] == stamp:
            return found[1]
        vector = self.extractor.features([image if image is not None else load_image(path)])[0]
        self._items[key] = (stamp, vector)
        self.computed += 1
        return vector

    def forget(self, path: Path) -> None:
        self._items.pop(str(Path(path).resolve()), None)

    def save(self) -> None:
        if self.file is None or not self._items:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._items)
        tmp = self.file.with_name(self.file.stem + ".tmp.npz")
        np.savez(tmp, paths=np.array(keys), stamps=np.array([self._items[k][0] for k in keys]),
                 features=np.stack([self._items[k][1] for k in keys]))
        tmp.replace(self.file)

    def _read(self, file: Path) -> None:
        try:
            with np.load(file, allow_pickle=False) as data:
                paths, stamps, features = data["paths"], data["stamps"], data["features"]
                for path, stamp, vector in zip(paths, stamps, features, strict=True):
                    self._items[str(path)] = ((int(stamp[0]), int(stamp[1])), vector)
        except (OSError, ValueError, KeyError):
            self._items.clear()  # a damaged cache costs a recomputation, nothing else


@dataclass(frozen=True)
class HeadFit:
    """A trained linear head (fc8) and how well it did.

    ``evaluated_on`` is ``"held-out"`` (``val_acc`` on ``val_count`` examples the head was not
    fitted on; the head returned is then refitted on all of them) or ``"training"`` (too few
    examples to hold any out: ``val_acc`` is ``None`` and only ``train_acc`` is known).
    """

    weight: np.ndarray
    bias: np.ndarray
    train_acc: float
    val_acc: float | None
    val_count: int
    examples: int
    evaluated_on: str
    steps: int
    seconds: float


def holdout_split(labels: Sequence[int], *, share: float = HOLDOUT_SHARE,
                  seed: int = 0) -> tuple[list[int], list[int]] | None:
    """Indices to fit on and to hold out, per class; ``None`` when a class has too few."""
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    if not by_class or min(len(v) for v in by_class.values()) < MIN_PER_CLASS_FOR_HOLDOUT:
        return None
    rng = random.Random(seed)
    fit, held = [], []
    for label in sorted(by_class):
        group = by_class[label][:]
        rng.shuffle(group)
        count = max(1, round(len(group) * share))
        held += group[:count]
        fit += group[count:]
    return sorted(fit), sorted(held)


def fit_linear(features: np.ndarray, labels: Sequence[int], num_classes: int, *,
               steps: int = HEAD_STEPS, seed: int = 0, progress: Progress | None = None,
               offset: int = 0, total: int | None = None,
               cancelled: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """L2-regularised softmax regression by full-batch Adam, folded back into fc8's (W, b).

    Features are standardised (a mean per feature, one scale for all), so one learning rate
    fits any base network; folding that back means fc8 takes the raw relu7 vector.

    With N examples of D = 4096 features and N far below D, the weights that minimise an
    L2-regularised loss are a combination of the examples (W = gamma X / D), so Adam runs on
    gamma, C x N, against the N x N Gram matrix: one large product up front, then steps that
    cost microseconds. On W itself each step was two (C x N) @ (N x D) products, and numpy's
    BLAS threads fighting torch's OpenMP threads made 600 such steps take 5-15 s on a busy
    2-core machine instead of one (``benchmarks/teach.py``); the steps' small products are
    therefore done by einsum, on this thread alone.
    """
    x = np.asarray(features, np.float64)
    y = np.asarray(list(labels), np.int64)
    n, d = x.shape
    mean = x.mean(axis=0)
    scale = max(float(x.std()), 1e-6)
    standard = (x - mean) / scale
    gram = standard @ standard.T / d
    onehot = np.eye(num_classes)[y]
    rng = np.random.default_rng(seed)
    params = [rng.normal(0.0, 0.01, (num_classes, n)), np.zeros(num_classes)]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    total = total if total is not None else steps
    for step in range(1, steps + 1):
        if cancelled is not None and cancelled():
            raise TeachCancelled("Training cancelled.")
        gamma, bias = params
        logits = _matmul(gram, gamma.T) + bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        delta = (probs - onehot) / n  # d(mean cross-entropy)/d(logits)
        grads = [_matmul(delta.T + 2.0 * HEAD_WEIGHT_DECAY / d * gamma, gram),
                 delta.sum(axis=0)]
        for param, grad, (m, v) in zip(params, grads, moments, strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= HEAD_LR * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
        if progress is not None and (step % 10 == 0 or step == steps):
            progress(offset + step, total)
    gamma, bias = params
    weight = gamma @ standard / d
    folded_w = weight / scale
    folded_b = bias - folded_w @ mean
    return folded_w.astype(np.float32), folded_b.astype(np.float32)


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` without BLAS (no thread pool to wake): fast for the head's small matrices."""
    return np.einsum("ij,jk->ik", a, b, optimize=False)


class TeachCancelled(Exception):
    """The user cancelled training between steps."""


def accuracy(weight: np.ndarray, bias: np.ndarray, features: np.ndarray,
             labels: Sequence[int]) -> float:
    if len(labels) == 0:
        return 0.0
    predicted = np.argmax(features @ weight.T + bias, axis=1)
    return float(np.mean(predicted == np.asarray(labels)))


def train_head(features: np.ndarray, labels: Sequence[int], num_classes: int, *,
               steps: int = HEAD_STEPS, seed: int = 0, progress: Progress | None = None,
               cancelled: Callable[[], bool] | None = None) -> HeadFit:
    """Fit fc8; with enough examples, measure on a held-out share first, then refit on all."""
    start = time.perf_counter()
    labels = list(labels)
    split = holdout_split(labels, seed=seed)
    total = steps * (2 if split else 1)
    val_acc, val_count, offset = None, 0, 0
    if split is not None:
        fit, held = split
        w, b = fit_linear(features[fit], [labels[i] for i in fit], num_classes, steps=steps,
                          seed=seed, progress=progress, total=total, cancelled=cancelled)
        val_acc, val_count, offset = accuracy(w, b, features[held],
                                              [labels[i] for i in held]), len(held), steps
    w, b = fit_linear(features, labels, num_classes, steps=steps, seed=seed, progress=progress,
                      offset=offset, total=total, cancelled=cancelled)
    return HeadFit(w, b, accuracy(w, b, features, labels), val_acc, val_count, len(labels),
                   "held-out" if split else "training", steps, time.perf_counter() - start)


def build_taught_model(base: LoadedModel, classes: Sequence[str], fit: HeadFit, *,
                       name: str = "taught") -> LoadedModel:
    """A copy of the base network with fc8 replaced by the head: ``len(classes)`` outputs."""
    model = copy.deepcopy(base.model).eval()
    old = last_linear(model)
    head = nn.Linear(old.in_features, len(classes))
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(fit.weight))
        head.bias.copy_(torch.from_numpy(fit.bias))
    _replace_last_linear(model, head)
    spec = replace(base.spec, name=name, categories=tuple(classes), url=None,
                   source=f"alexnet-gui teach ({base.spec.name} features, fc8 taught)",
                   metadata={})
    return LoadedModel(model.eval(), spec)


def _replace_last_linear(model: nn.Module, head: nn.Linear) -> None:
    classifier = model.classifier
    assert isinstance(classifier, nn.Sequential)
    for name, child in reversed(list(classifier.named_children())):
        if isinstance(child, nn.Linear):
            setattr(classifier, name, head)
            return


def taught_checkpoint(taught: LoadedModel, fit: HeadFit, *, project: Path,
                      layer: str = FEATURE_LAYER) -> dict[str, Any]:
    """The dict ``train`` would write: training arguments and metrics in its own keys."""
    training = {
        "data_dir": str(project),
        "out": str(project / "model.pt"),
        "arch": taught.spec.arch,
        "init": "imagenet",
        "freeze_features": True,
        "input_size": taught.spec.preprocessing.crop_size,
        "optimizer": "adam",
        "lr": HEAD_LR,
        "weight_decay": HEAD_WEIGHT_DECAY,
        "steps": fit.steps,
        "feature_layer": layer,
        "started_from": "teach: frozen features, a new fc8 on cached fc7 vectors",
    }
    metrics = {
        "selected_by": "val_acc" if fit.val_acc is not None else "train_acc",
        "val_acc": fit.val_acc,
        "train_acc": fit.train_acc,
        "evaluated_on": fit.evaluated_on,
        "val_count": fit.val_count,
        "examples": fit.examples,
        "seconds": fit.seconds,
    }
    return checkpoint_dict(taught.model, taught.spec, training=training, metrics=metrics)


def save_taught_model(path: Path, taught: LoadedModel, fit: HeadFit, *, project: Path) -> Path:
    """Write the checkpoint atomically (a WeightsError says why it could not be written)."""
    return save_checkpoint(path, taught_checkpoint(taught, fit, project=project))
