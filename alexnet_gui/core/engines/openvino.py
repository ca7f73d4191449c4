"""OpenVINO engines: the PyTorch model converted once, cached as IR, run by the CPU plugin.

Why OpenVINO: on this project's reference CPU (2 cores, AVX-512 VNNI and BF16) it was the fastest
well-kept runtime at both batch 1 and batch 32 (``benchmarks/engines.py``), and it needs nothing
but the ``openvino`` wheel: its PyTorch frontend converts the model, and our own calibration
(:mod:`.calibration`) inserts the FakeQuantize nodes that its CPU plugin runs in int8.

Three flavours: ``int8`` (static, calibrated on real images), ``bf16`` (fp32 weights, bf16 maths
where the CPU has it) and ``fp32``. Threads follow torch's (the worker leaves a core to the GUI).
What needs no torch (versions, cache keys, compiling a cached model) is in :mod:`.openvino_runtime`;
each manifest also keeps :func:`quick_facts`, what the fast start path needs to run the engine.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from alexnet_gui.core.engines.cache import EngineCache
from alexnet_gui.core.engines.calibration import (
    CalibrationSet,
    agreement,
    collect_ranges,
    fake_quantized,
)
from alexnet_gui.core.engines.openvino_runtime import (
    FLAVOURS,
    MODEL_XML,
    RECIPE,
    available,
    cache_version,
    version,
)
from alexnet_gui.core.engines.openvino_runtime import compile_model as _compile
from alexnet_gui.core.models.imagenet import spec_record
from alexnet_gui.core.models.spec import WeightsSpec, weights_file_facts

__all__ = [
    "FLAVOURS",
    "MODEL_XML",
    "RECIPE",
    "EngineUnavailable",
    "OpenVINOEngine",
    "available",
    "cache_version",
    "compile_model",
    "convert",
    "load_or_build",
    "quick_facts",
    "version",
]

log = logging.getLogger(__name__)


class EngineUnavailable(RuntimeError):
    """The runtime is not installed or cannot run here."""


class OpenVINOEngine:
    """A compiled OpenVINO model with one reusable infer request (the worker is one thread)."""

    def __init__(self, flavour: str, compiled: Any, info: Mapping[str, Any]) -> None:
        self.name = f"openvino-{flavour}"
        self.label = f"OpenVINO {flavour}"
        self.info = dict(info)
        self._compiled = compiled
        self._request = compiled.create_infer_request()

    @property
    def agreement(self) -> float | None:
        value = self.info.get("agreement")
        return None if value is None else float(value)

    def run(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) as float32 on the CPU, whatever device ``batch`` is on."""
        array = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        result = self._request.infer({0: array}, share_inputs=True)
        return torch.from_numpy(result[0].copy())


def convert(
    model: nn.Module, spec: WeightsSpec, flavour: str, calibration: CalibrationSet | None
) -> Any:
    """The ov.Model of ``model`` (fake-quantised for int8), with a dynamic batch dimension."""
    import openvino as ov

    size = spec.preprocessing.crop_size
    example = torch.zeros(1, 3, size, size)
    model = without_identity_pool(copy.deepcopy(model).cpu().eval(), example)
    if flavour == "int8":
        if calibration is None:
            raise ValueError("int8 needs a calibration set")
        model = fake_quantized(model, collect_ranges(model, calibration.calibrate))
    with torch.no_grad(), warnings.catch_warnings():
        # OpenVINO converts an nn.Module through torch.jit.trace, deprecated in torch 2.14.
        # torch.export cannot carry fake_quantize ops yet; see the issue #8 report.
        warnings.filterwarnings("ignore", r"`torch\.jit\.trace", FutureWarning)
        return ov.convert_model(model, example_input=example, input=[(-1, 3, size, size)])


def without_identity_pool(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Drop ``avgpool`` when it maps 6x6 to 6x6 (224/227 input): OpenVINO runs it in fp32 anyway,
    5% of a batch's time, for nothing."""
    pool = getattr(model, "avgpool", None)
    if not isinstance(pool, nn.AdaptiveAvgPool2d):
        return model
    seen: list[torch.Size] = []
    handle = pool.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape))
    with torch.inference_mode():
        model(example)
    handle.remove()
    wanted = pool.output_size if isinstance(pool.output_size, tuple) else (pool.output_size,) * 2
    if seen and tuple(seen[0][-2:]) == tuple(wanted):
        model.avgpool = nn.Identity()
    return model


def compile_model(folder: Path, flavour: str) -> Any:
    """:func:`.openvino_runtime.compile_model` with torch's thread count."""
    return _compile(folder, flavour, torch.get_num_threads())


def quick_facts(flavour: str, spec: WeightsSpec) -> dict[str, Any]:
    """What the fast start path reads from the manifest to run the engine without torch."""
    return {
        "engine": f"openvino-{flavour}",
        "precision": flavour,
        "model_xml": MODEL_XML,
        "input_size": spec.preprocessing.crop_size,
        "spec": spec_record(spec),
        # imagenet, state_dict or checkpoint: a plain state_dict's name follows its path
        "weights_kind": (weights_file_facts(spec) or {}).get("kind"),
    }


def load_or_build(
    flavour: str,
    model: nn.Module,
    spec: WeightsSpec,
    *,
    key: str,
    cache: EngineCache,
    calibration: Callable[[], tuple[CalibrationSet, torch.Tensor]],
) -> OpenVINOEngine:
    """The cached engine for ``key``, or a fresh conversion stored under it.

    ``calibration()`` gives the images and the fp32 logits of their check half; it is called
    only for a fresh conversion, which is checked against fp32 before it is stored: the top-1
    agreement goes into the manifest with it. A cached entry that OpenVINO cannot read is
    discarded and rebuilt.
    """
    if not available():
        raise EngineUnavailable("OpenVINO is not installed (pip install openvino).")
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown OpenVINO flavour {flavour!r}")
    entry = cache.load(key)
    if entry is not None:
        if "spec" not in entry.info:  # written before the fast start path: add what it needs
            cache.update_info(key, quick_facts(flavour, spec))
        try:
            return OpenVINOEngine(flavour, compile_model(entry.folder, flavour), entry.info)
        except Exception:
            log.warning("cached engine %s cannot be loaded; converting again", key, exc_info=True)
            cache.discard(key)
    calibration_set, reference = calibration()
    entry = cache.store(key, _writer(flavour, model, spec, calibration_set, reference))
    return OpenVINOEngine(flavour, compile_model(entry.folder, flavour), entry.info)


def _writer(
    flavour: str,
    model: nn.Module,
    spec: WeightsSpec,
    calibration: CalibrationSet,
    reference: torch.Tensor,
) -> Callable[[Path], dict[str, Any]]:
    """What :meth:`EngineCache.store` runs in its temporary folder: convert, save, check."""

    def write(folder: Path) -> dict[str, Any]:
        import openvino as ov

        start = time.perf_counter()
        converted = convert(model, spec, flavour, calibration)
        # fp16 compression would change fp32's weights; int8 weights are compressed anyway.
        ov.save_model(converted, folder / MODEL_XML, compress_to_fp16=False)
        seconds = time.perf_counter() - start
        engine = OpenVINOEngine(flavour, compile_model(folder, flavour), {})
        logits = torch.cat([engine.run(part) for part in calibration.validate.split(32)])
        return {
            **quick_facts(flavour, spec),
            "openvino": version(),
            "recipe": RECIPE,
            "conversion_s": round(seconds, 2),
            "calibration": calibration.description,
            "agreement": agreement(reference, logits),
            "validated_on": len(reference),
        }

    return write
