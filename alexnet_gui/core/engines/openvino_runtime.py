"""The torch-free half of the OpenVINO engines: versions, cache keys, compiling a cached model.

Why a module of its own: the fast start path (:mod:`alexnet_gui.core.inference.quick`) finds and
runs a cached engine with numpy and OpenVINO alone, while converting a model
(:mod:`.openvino`) needs torch. Both must agree on the cache keys and on how a model is compiled,
so both take them from here.

Importing this costs nothing: OpenVINO is imported on the first call that needs it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

FLAVOURS: tuple[str, ...] = ("int8", "bf16", "fp32")
#: Bump when the conversion or calibration recipe changes: old cache entries are then ignored.
RECIPE = 3
MODEL_XML = "model.xml"


def available() -> bool:
    try:
        return importlib.util.find_spec("openvino") is not None
    except (ImportError, ValueError):  # a broken install, or blocked in sys.modules
        return False


def version() -> str:
    import openvino

    return str(openvino.get_version()).split("-")[0]


def cache_version() -> str:
    return f"ov{version()}-r{RECIPE}"


def torch_version() -> str:
    """torch's version from its package metadata: the PyTorch speed entry's key needs it, and
    asking importlib does not import torch."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def engine_key(digest: str, name: str) -> str:
    """The cache key of engine ``name`` for the weights with ``digest``.

    ``digest`` is the weights file's SHA-256 (or, for a model made in memory, its state's); the
    PyTorch entry holds its measured speed only.
    """
    if name == "pytorch":
        return f"{digest}-pytorch-torch{torch_version()}"
    return f"{digest}-{name}-{cache_version()}"


def compile_model(folder: Path, flavour: str, threads: int) -> Any:
    """The cached ``model.xml`` compiled for the CPU with the app's hints.

    ``threads`` follows torch's intra-op threads where torch runs (the worker leaves a core to
    the GUI); latency first, since one picture at a time is the common case; int8 layers run in
    int8 whatever the precision hint says, the rest stays fp32 except for bf16.
    """
    import openvino as ov

    core = ov.Core()
    config = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_NUM_THREADS": max(1, int(threads)),
        "INFERENCE_PRECISION_HINT": "bf16" if flavour == "bf16" else "f32",
    }
    return core.compile_model(core.read_model(folder / MODEL_XML), "CPU", config)
