"""Time AlexNet's forward and forward+backward passes, as the classic convnet-benchmarks do.

A few warm-up iterations (allocator, cuDNN autotuning, oneDNN primitive caches) are run and
discarded; then each iteration is timed on its own, so the report can give a mean and a standard
deviation per batch. On CUDA the device is synchronised around every timed iteration, because
kernel launches return before the work is done. *forward* is inference (eval mode, no autograd);
*forward+backward* is a training step's forward and backward pass in train mode, without the
optimizer update, which is what convnet-benchmarks calls the backward time plus the forward.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from alexnet_gui.core.inference.classifier import device_label, resolve_device
from alexnet_gui.core.models.architectures import INPUT_SIZES, build_model, check_input_size


@dataclass(frozen=True)
class Timing:
    """Per-batch time of one pass after warm-up, in milliseconds."""

    mean_ms: float
    std_ms: float
    min_ms: float
    iterations: int

    @classmethod
    def of(cls, seconds: list[float]) -> Timing:
        ms = [s * 1000.0 for s in seconds]
        std = statistics.stdev(ms) if len(ms) > 1 else 0.0
        return cls(statistics.fmean(ms), std, min(ms), len(ms))


@dataclass(frozen=True)
class BenchmarkResult:
    """What was measured, on what, and how long it took."""

    arch: str
    batch_size: int
    input_size: int
    lrn: bool
    device: str
    threads: int
    warmup: int
    forward: Timing
    forward_backward: Timing | None

    def images_per_second(self, timing: Timing) -> float:
        return self.batch_size / (timing.mean_ms / 1000.0)

    def _timing_dict(self, timing: Timing | None) -> dict[str, float] | None:
        if timing is None:
            return None
        return {**dataclasses.asdict(timing), "images_per_s": self.images_per_second(timing)}

    def as_dict(self) -> dict[str, Any]:
        passes = {"forward": self.forward, "forward_backward": self.forward_backward}
        return {
            "arch": self.arch,
            "batch_size": self.batch_size,
            "input_size": self.input_size,
            "lrn": self.lrn,
            "device": self.device,
            "threads": self.threads,
            "warmup": self.warmup,
            **{name: self._timing_dict(t) for name, t in passes.items()},
        }


def replace_lrn(model: nn.Module) -> int:
    """Swap every LocalResponseNorm for Identity (to see what LRN costs); returns how many."""
    replaced = 0
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.LocalResponseNorm):
                setattr(parent, name, nn.Identity())
                replaced += 1
    return replaced


def benchmark(
    arch: str = "torchvision",
    *,
    batch_size: int = 32,
    input_size: int | None = None,
    lrn: bool = True,
    device: str = "auto",
    iterations: int = 10,
    warmup: int = 2,
    backward: bool = True,
    on_progress: Callable[[str, int, int], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> BenchmarkResult | None:
    """Time a random-initialised model on random input; ``None`` if cancelled.

    Args:
        lrn: keep the paper architecture's LRN layers; ``False`` replaces them with Identity.
        on_progress: called with (pass name, iteration done, iterations in all, warm-up included).
    """
    size = input_size or INPUT_SIZES[arch]
    check_input_size(arch, size)
    target = resolve_device(device)
    torch.manual_seed(0)
    model = build_model(arch, num_classes=1000)
    if not lrn:
        replace_lrn(model)
    model.to(target)
    images = torch.randn(batch_size, 3, size, size, device=target)
    labels = torch.randint(0, 1000, (batch_size,), device=target)
    if target.type == "cuda":
        torch.backends.cudnn.benchmark = True

    def forward() -> None:
        with torch.inference_mode():
            model(images)

    def forward_backward() -> None:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(images), labels).backward()

    passes = [("forward", forward, False)]
    if backward:
        passes.append(("forward+backward", forward_backward, True))
    timings: dict[str, Timing] = {}
    for name, step, training_mode in passes:
        model.train(training_mode)
        seconds = _time(step, target, name, iterations, warmup, on_progress, is_cancelled)
        if seconds is None:
            return None
        timings[name] = Timing.of(seconds)
    return BenchmarkResult(
        arch=arch,
        batch_size=batch_size,
        input_size=size,
        lrn=lrn and arch == "paper",
        device=device_label(target),
        threads=torch.get_num_threads(),
        warmup=warmup,
        forward=timings["forward"],
        forward_backward=timings.get("forward+backward"),
    )


def _time(
    step: Callable[[], None],
    device: torch.device,
    name: str,
    iterations: int,
    warmup: int,
    on_progress: Callable[[str, int, int], None] | None,
    is_cancelled: Callable[[], bool] | None,
) -> list[float] | None:
    seconds: list[float] = []
    total = warmup + iterations
    for index in range(total):
        if is_cancelled is not None and is_cancelled():
            return None
        _synchronize(device)
        started = time.perf_counter()
        step()
        _synchronize(device)
        if index >= warmup:
            seconds.append(time.perf_counter() - started)
        if on_progress is not None:
            on_progress(name, index + 1, total)
    return seconds


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
