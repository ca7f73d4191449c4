"""A short timing of engines on this CPU, so ``auto`` ranks them by what they do here.

Why measure instead of a fixed order: the order depends on the CPU. On the AVX-512 VNNI/BF16
machine the engines were first tuned on, int8 < bf16 < fp32; on a 2-core AVX2 EPYC bf16 was slower
than fp32 (issue #14). A second or two when an engine is built settles it; the figures are kept in
the engine's cache manifest (:mod:`.cache`) with the :func:`.cpu.fingerprint` they hold for.

Engines are timed together, one call each in turn, so a burst of load from another program slows
all of them alike instead of whichever happened to be measured at that moment. The median of the
samples is kept.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from alexnet_gui.core.engines import cpu

if TYPE_CHECKING:
    from alexnet_gui.core.engines.select import Engine

BATCH = 4  # the "batch" timing: a few images, as a folder chunk or TenCrop sends
BATCH1_SAMPLES = (5, 25)  # at least, at most, per engine
BATCH_SAMPLES = 2
BUDGET_S = 0.6  # batch-1 rounds stop once they took this long and have the minimum


def measure(engines: Sequence[Engine], input_size: int) -> dict[str, dict[str, Any]]:
    """``{engine name: speed}`` for each engine: batch-1 and batch-:data:`BATCH` medians.

    A speed is ``{"batch1_ms", "batch_ms", "batch", "fingerprint"}``; ``batch_ms`` is per batch.
    """
    if not engines:
        return {}
    generator = torch.Generator().manual_seed(0)
    many = torch.randn(BATCH, 3, input_size, input_size, generator=generator)
    one = many[:1].clone()
    with torch.inference_mode():
        for engine in engines:  # first calls allocate and pick kernels for each shape
            engine.run(one)
            engine.run(many)
        ones = _interleaved(engines, one, BATCH1_SAMPLES)
        batches = _interleaved(engines, many, (BATCH_SAMPLES, BATCH_SAMPLES))
    stamp = cpu.fingerprint(torch.get_num_threads())
    return {
        engine.name: {
            "batch1_ms": round(statistics.median(ones[i]), 2),
            "batch_ms": round(statistics.median(batches[i]), 2),
            "batch": BATCH,
            "fingerprint": stamp,
        }
        for i, engine in enumerate(engines)
    }


def is_fresh(speed: object) -> bool:
    """Whether a stored speed was measured on this CPU with this many threads."""
    return (
        isinstance(speed, dict)
        and isinstance(speed.get("batch1_ms"), int | float)
        and speed.get("fingerprint") == cpu.fingerprint(torch.get_num_threads())
    )


def _interleaved(
    engines: Sequence[Engine], batch: torch.Tensor, samples: tuple[int, int]
) -> list[list[float]]:
    least, most = samples
    times: list[list[float]] = [[] for _ in engines]
    start = time.perf_counter()
    for round_ in range(most):
        if round_ >= least and time.perf_counter() - start > BUDGET_S:
            break
        for i, engine in enumerate(engines):
            began = time.perf_counter()
            engine.run(batch)
            times[i].append((time.perf_counter() - began) * 1000.0)
    return times
