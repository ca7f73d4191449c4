"""The timing loop every benchmark script shares: warm up, then wall-clock samples in ms.

The scripts are run as ``python benchmarks/NAME.py``, so this folder is on ``sys.path`` and they
import it as ``timing``.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def times_ms(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    """``repeat`` timings of ``fn()`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples
