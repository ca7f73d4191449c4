"""What this CPU can run natively, and a fingerprint that says when a measured speed still holds.

Why ask: bf16 on a CPU without AVX-512 BF16 or AMX is emulated, and slower than fp32 (issue #14:
35 ms against 29 ms on a 2-core AVX2 EPYC), so ``auto`` must not even try it there. OpenVINO's CPU
plugin knows what it can run natively and says so in ``OPTIMIZATION_CAPABILITIES`` (``BF16`` only
with AVX-512 BF16 or AMX, ``INT8`` where it has int8 kernels); that answer is what we use, asked
once per process. Without OpenVINO the answer is empty: only PyTorch runs then anyway.

Importing this costs nothing: OpenVINO is imported on the first question.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
from pathlib import Path

log = logging.getLogger(__name__)

#: The flags of ``/proc/cpuinfo`` that decide which kernels run (the bench prints them).
ISA_FLAGS: tuple[str, ...] = (
    "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8",
    "asimd", "asimddp", "bf16", "i8mm", "sve",
)  # fmt: skip
#: oneDNN's cap on the ISA (PyTorch honours it; OpenVINO's release wheels only partly).
ISA_CAP_ENV = "ONEDNN_MAX_CPU_ISA"


@functools.lru_cache(maxsize=1)
def capabilities() -> frozenset[str]:
    """OpenVINO's ``OPTIMIZATION_CAPABILITIES`` for the CPU (``FP32``, ``INT8``, ``BF16``...)."""
    try:
        import openvino as ov

        return frozenset(str(c) for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    except Exception as exc:  # not installed, or no CPU plugin: nothing converted runs here
        log.info("OpenVINO's CPU capabilities are unknown (%s)", exc)
        return frozenset()


def runs_natively(engine: str) -> bool:
    """Whether this CPU has kernels for ``engine``'s precision (PyTorch and fp32 always)."""
    precision = engine.removeprefix("openvino-").upper()
    if engine == "pytorch" or precision == "FP32":
        return True
    return precision in capabilities()


def cpu_model() -> str:
    """The processor's name as the OS reports it (``/proc/cpuinfo`` on Linux)."""
    for line in _cpuinfo_lines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def isa_flags() -> tuple[str, ...]:
    """Which of :data:`ISA_FLAGS` this CPU has (empty where ``/proc/cpuinfo`` is missing)."""
    present: set[str] = set()
    for line in _cpuinfo_lines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            present.update(value.split())
    return tuple(flag for flag in ISA_FLAGS if flag in present)


def fingerprint(threads: int) -> str:
    """What a speed measured here depends on: the CPU, the ISA cap, the thread count.

    A cached speed with another fingerprint (the cache folder moved to another machine, the
    worker got more cores) is measured again rather than trusted.
    """
    cap = os.environ.get(ISA_CAP_ENV, "")
    return f"{cpu_model()}|{platform.machine()}|threads={threads}|cap={cap}"


@functools.lru_cache(maxsize=1)
def _cpuinfo_lines() -> tuple[str, ...]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        return tuple(text.split("\n"))
    except OSError:
        return ()
