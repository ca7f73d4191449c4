"""The fast start path: a cached OpenVINO engine run with numpy, Pillow and OpenVINO, no torch.

Why: ``import torch`` takes 3-6 s on a 2-core laptop and ``import torchvision`` 3-4 s more, while
a cached engine answers in a few milliseconds. When the engine cache (:mod:`..engines.cache`)
holds an engine for these weights, :func:`find_quick_engine` finds it by the weights file's own
SHA-256 and returns a :class:`QuickClassifier` that answers with the same :class:`Prediction` and
:class:`ModelInfo` as the :class:`~.classifier.Classifier`; otherwise it returns None and the
caller takes the torch path, which converts the engine once and caches it for the next start.

``auto`` picks what :func:`..engines.select.select_engine` would: the fastest engine measured on
this CPU that keeps the quality bar, among those the CPU runs natively. When any candidate is not
built or timed here yet, or PyTorch itself was the fastest, there is no quick engine: the torch
path decides (and records what it measured). A speed measured here with another thread count
still ranks the engines (the GUI's worker and the CLI run different counts).

Neither importing this module nor calling it imports torch or torchvision (a test checks).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from alexnet_gui.core.engines import cpu, openvino_runtime
from alexnet_gui.core.engines.cache import EngineCache
from alexnet_gui.core.engines.names import AUTO_CANDIDATES, QUALITY_BAR, resolve_name
from alexnet_gui.core.engines.select import below_bar_message
from alexnet_gui.core.errors import UserFacingError, WeightsError
from alexnet_gui.core.imaging.decode import decode_for_model, load_image
from alexnet_gui.core.imaging.numpy_preprocess import model_input, softmax
from alexnet_gui.core.models.imagenet import (
    find_imagenet_weights,
    imagenet_spec,
    spec_from_record,
    state_dict_spec,
)
from alexnet_gui.core.models.spec import WeightsSpec
from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction

log = logging.getLogger(__name__)

#: Crops per image with TenCrop.
TENCROP = 10


class QuickClassifier:
    """A compiled OpenVINO engine and the spec of its weights; one thread uses it at a time."""

    def __init__(
        self, spec: WeightsSpec, engine_name: str, compiled: Any, info: Mapping[str, Any],
        threads: int,
    ) -> None:  # fmt: skip
        self.spec = spec
        self.engine_name = engine_name
        self.info: dict[str, Any] = dict(info)
        self.threads = threads
        self._compiled = compiled
        self._request = compiled.create_infer_request()

    @property
    def label(self) -> str:
        """``OpenVINO int8``: the engine's name as the torch path's engines give it."""
        return f"OpenVINO {self.engine_name.removeprefix('openvino-')}"

    def take_messages(self, requested: str) -> list[str]:
        """What the torch path would tell the user about this engine: that the engine they
        chose (not ``auto``, which never picks one below the bar) falls short of the bar."""
        agreement = self.info.get("agreement")
        chosen = resolve_name(requested) != "auto"  # $ALEXNET_GUI_ENGINE counts as chosen
        if not chosen or agreement is None or float(agreement) >= QUALITY_BAR:
            return []
        return [below_bar_message(self.label, float(agreement))]

    @property
    def device_text(self) -> str:
        """``cpu (openvino-int8)``: what the Classifier says for the same engine."""
        return f"cpu ({self.engine_name})"

    def model_info(self) -> ModelInfo:
        return ModelInfo.of(self.spec, self.device_text)

    def preprocess(self, image: Image.Image | np.ndarray, *, tta: bool = False) -> np.ndarray:
        """(1, 3, S, S) float32, or (10, 3, S, S) with TenCrop: torchvision's preset."""
        if isinstance(image, np.ndarray):
            image = Image.fromarray(image)
        return model_input([image], self.spec.preprocessing, tta=tta)

    def file_input(self, path: Path, *, tta: bool = False) -> np.ndarray:
        """A file's model input, decoded as the torch path's folders are (OpenCV for plain
        JPEGs, :func:`~alexnet_gui.core.imaging.decode.decode_for_model`; Pillow for TenCrop);
        raises ImageLoadError with one readable line."""
        return self.preprocess(load_image(path) if tta else decode_for_model(path), tta=tta)

    def classify(
        self, image: Image.Image | np.ndarray, top_k: int = 5, *, tta: bool = False,
        topk: int | None = None,
    ) -> Prediction:  # fmt: skip
        """The top-k of one picture (``topk`` is the Classifier's spelling, accepted too)."""
        return self.classify_batch([image], top_k, tta=tta, topk=topk)[0]

    def classify_batch(
        self, images: Sequence[Image.Image | np.ndarray], top_k: int = 5, *, tta: bool = False,
        topk: int | None = None,
    ) -> list[Prediction]:  # fmt: skip
        """Many pictures in one inference (TenCrop: ten rows each); time is shared equally."""
        if not images:
            return []
        start = time.perf_counter()
        batch = np.concatenate([self.preprocess(image, tta=tta) for image in images])
        k = top_k if topk is None else topk
        return self.classify_prepared(batch, topk=k, tta=tta, started=start)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, classes) float32 logits of model inputs."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        result = self._request.infer({0: batch}, share_inputs=True)
        return np.array(result[0], dtype=np.float32)  # a copy: the request reuses its buffer

    def classify_prepared(
        self, batch: np.ndarray, *, topk: int = 5, tta: bool = False, started: float | None = None
    ) -> list[Prediction]:
        """Model inputs made elsewhere (a folder's decoders); 10 rows per image with TenCrop."""
        start = time.perf_counter() if started is None else started
        crops = TENCROP if tta else 1
        count = len(batch) // crops
        probabilities = softmax(self.logits(batch)).reshape(count, crops, -1).mean(axis=1)
        elapsed = (time.perf_counter() - start) * 1000.0 / count
        return [
            Prediction(self.top_scores(row, topk), elapsed, self.device_text, self.spec.name, tta)
            for row in probabilities
        ]

    def top_scores(self, probabilities: np.ndarray, topk: int) -> tuple[ClassScore, ...]:
        """The ``topk`` most probable classes of a 1-D probability vector, ranked from 1."""
        k = max(1, min(int(topk), probabilities.size))
        order = np.argsort(-probabilities, kind="stable")[:k]
        return tuple(
            ClassScore(rank, int(i), self.spec.categories[int(i)], float(probabilities[i]))
            for rank, i in enumerate(order, 1)
        )


def find_quick_engine(
    weights: Path | str | None,
    *,
    engine: str = "auto",
    threads: int | None = None,
    cache: EngineCache | None = None,
) -> QuickClassifier | None:
    """The cached OpenVINO engine for these weights, or None (the torch path must run).

    ``weights`` None means the ImageNet file, found where :mod:`..models.weights` looks.
    ``threads`` is OpenVINO's thread count (default :func:`default_threads`, torch's own).
    Never raises for a missing, old or damaged cache (returns None and logs why); raises
    :class:`WeightsError` only when the weights file itself cannot be read.
    """
    try:
        name = resolve_name(engine)
    except UserFacingError as exc:
        log.info("no quick engine: %s", exc)
        return None
    if name == "pytorch":
        _why_not("the PyTorch engine was asked for")
        return None
    if not openvino_runtime.available():
        _why_not("OpenVINO is not installed")
        return None
    path = Path(weights) if weights is not None else find_imagenet_weights()
    if path is None:
        _why_not("the ImageNet weights are not on this machine")
        return None
    cache = cache or EngineCache()
    digest = _digest(path, cache)
    threads = threads or default_threads()
    try:
        chosen = _auto(digest, cache, threads) if name == "auto" else name
        if chosen is None:
            return None
        return _load(chosen, digest, cache, threads, path, imagenet=weights is None)
    except Exception:  # a broken runtime or an odd cache entry: the torch path still works
        log.warning("no quick engine for %s", path, exc_info=True)
        return None


def default_threads() -> int:
    """What torch takes by default: ``OMP_NUM_THREADS``, else the physical cores we may run on."""
    try:
        wanted = int(os.environ.get("OMP_NUM_THREADS", ""))
        if wanted > 0:
            return wanted
    except ValueError:
        pass
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    count = len(allowed) if allowed else (os.cpu_count() or 1)
    cores = _physical_cores(allowed)
    return max(1, min(count, cores) if cores else count)


def _physical_cores(allowed: set[int] | None) -> int:
    """Distinct (package, core) pairs among the allowed processors in /proc/cpuinfo (0: unknown)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    cores: set[tuple[str, str]] = set()
    for block in text.split("\n\n"):
        fields = dict(
            (key.strip(), value.strip())
            for key, _, value in (line.partition(":") for line in block.splitlines())
        )
        if "processor" not in fields or "core id" not in fields:
            continue
        number = fields["processor"]
        if allowed is not None and number.isdigit() and int(number) not in allowed:
            continue
        cores.add((fields.get("physical id", "0"), fields["core id"]))
    return len(cores)


def _why_not(why: str) -> None:
    log.info("no quick engine: %s", why)


def _digest(path: Path, cache: EngineCache) -> str:
    """The weights file's SHA-256, or one WeightsError line if it cannot be read."""
    if not path.exists():
        raise WeightsError(f"Weights file not found: {path}")
    if not path.is_file():
        raise WeightsError(f"Not a file: {path}")
    try:
        return cache.file_digest(path)
    except OSError as exc:
        raise WeightsError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc


def _measured_here(info: Mapping[str, Any], threads: int) -> float | None:
    """The batch-1 ms in ``info`` if it was measured on this CPU (any thread count), else None."""
    speed = info.get("speed")
    if not isinstance(speed, Mapping) or not isinstance(speed.get("batch1_ms"), int | float):
        return None
    here = _without_threads(cpu.fingerprint(threads))
    if _without_threads(str(speed.get("fingerprint"))) != here:
        return None
    return float(speed["batch1_ms"])


def _without_threads(fingerprint: str) -> str:
    return re.sub(r"\|threads=\d+", "", fingerprint)


def _auto(digest: str, cache: EngineCache, threads: int) -> str | None:
    """What ``auto`` would pick from the manifests alone, or None (the torch path decides)."""
    timed: dict[str, float] = {}
    for name in AUTO_CANDIDATES:
        if not cpu.runs_natively(name):
            continue
        info = cache.peek(openvino_runtime.engine_key(digest, name))
        ms = None if info is None else _measured_here(info, threads)
        if info is None or ms is None:
            _why_not(f"{name} is not built or not timed on this CPU yet")
            return None
        agreement = info.get("agreement")
        if agreement is None or float(agreement) >= QUALITY_BAR:
            timed[name] = ms
    reference = cache.peek(openvino_runtime.engine_key(digest, "pytorch"))
    reference_ms = None if reference is None else _measured_here(reference, threads)
    if reference_ms is None:
        _why_not("PyTorch's speed on this CPU is not known yet")
        return None
    order = {name: i for i, name in enumerate((*AUTO_CANDIDATES, "pytorch"))}
    ranked = sorted([*timed.items(), ("pytorch", reference_ms)], key=lambda i: (i[1], order[i[0]]))
    winner = ranked[0][0]
    if winner == "pytorch":
        _why_not("PyTorch is the fastest engine measured here")
        return None
    return winner


def _load(
    name: str, digest: str, cache: EngineCache, threads: int, path: Path, *, imagenet: bool
) -> QuickClassifier | None:
    flavour = name.removeprefix("openvino-")
    if flavour not in openvino_runtime.FLAVOURS:
        _why_not(f"{name} is not an OpenVINO engine")
        return None
    key = openvino_runtime.engine_key(digest, name)
    entry = cache.load(key)  # checks every file against its recorded hash
    if entry is None:
        _why_not(f"the cache holds no {name} engine for {path.name}")
        return None
    if "spec" not in entry.info:
        _why_not(f"the cached {name} engine predates the fast start path")
        return None
    spec = _spec(entry.info, path, imagenet=imagenet)
    compiled = openvino_runtime.compile_model(entry.folder, flavour, threads)
    log.info("quick engine: %s from %s", name, entry.folder)
    return QuickClassifier(spec, name, compiled, entry.info, threads)


def _spec(info: Mapping[str, Any], path: Path, *, imagenet: bool) -> WeightsSpec:
    """The spec the torch path would give these weights, from the manifest and the file's path.

    The same bytes may have been converted when loaded under another name (the ImageNet file, or
    a copy of it): a plain state_dict's name and source follow the path used now, a
    checkpoint's spec is its own.
    """
    stored = spec_from_record(info["spec"], str(path))
    if info.get("weights_kind") == "checkpoint":
        return stored
    if imagenet:
        return replace(imagenet_spec(), source=str(path))
    if info.get("weights_kind") in ("imagenet", "state_dict"):
        return state_dict_spec(path, stored.num_classes)
    return stored
