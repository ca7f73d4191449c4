"""Inference engines: the same AlexNet run by PyTorch (the reference) or by a faster runtime.

Only ``Classifier.classify``/``classify_batch`` use the engine; ``inspect()``, activations and
Grad-CAM always run the PyTorch model, because they need hooks and gradients.

``auto`` (the default setting) picks the fastest engine that keeps the quality bar, in the order
measured by ``benchmarks/engines.py``: OpenVINO int8, then bf16, then fp32; PyTorch on a CUDA GPU.
The bar is checked where the model is converted, on the model the user actually loaded: top-1
agreement with PyTorch fp32 of at least 98% on held-out real images (bundled photos, the
checkpoint's own training images when its folder still exists, and images the caller passes; see
:mod:`.calibration`). The figure is stored with the cached engine, so the check runs once per
weights. An engine that is not installed, fails to convert or raises while running is replaced by
PyTorch, and :meth:`SelectedEngine.take_message` says so once.

Importing this module costs neither torch nor OpenVINO; the names live in :mod:`.names`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alexnet_gui.core.engines.names import AUTO_ORDER, QUALITY_BAR, resolve_name

if TYPE_CHECKING:
    import torch
    from torch import nn

    from alexnet_gui.core.engines.cache import EngineCache
    from alexnet_gui.core.models.spec import WeightsSpec

log = logging.getLogger(__name__)


class Engine(Protocol):
    """What the Classifier needs: a batch of model inputs in, float32 logits out."""

    name: str
    info: dict[str, Any]

    @property
    def label(self) -> str: ...

    @property
    def agreement(self) -> float | None: ...

    def run(self, batch: torch.Tensor) -> torch.Tensor: ...


@dataclass(eq=False)
class SelectedEngine:
    """The engine in use, the PyTorch reference behind it, and what the user should be told."""

    requested: str
    active: Engine
    reference: Engine
    messages: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.active.name

    @property
    def label(self) -> str:
        return self.active.label

    def summary(self) -> str:
        """One line for the status bar: which engine, and how it compared with fp32."""
        agreement = self.active.agreement
        checked = self.active.info.get("validated_on")
        if self.active is self.reference or agreement is None or not checked:
            return f"Engine: {self.label}."
        return (
            f"Engine: {self.label} (top-1 agrees with fp32 on {agreement:.1%} "
            f"of {checked} check images)."
        )

    def take_message(self) -> str | None:
        """The oldest message not yet shown (a fallback, a failed check), once."""
        return self.messages.pop(0) if self.messages else None

    def run(self, batch: torch.Tensor) -> torch.Tensor:
        """The active engine's logits; if it raises, PyTorch's, from now on."""
        try:
            return self.active.run(batch)
        except Exception as exc:
            if self.active is self.reference:
                raise
            log.exception("the %s engine failed; falling back to PyTorch", self.active.name)
            self.messages.append(f"{self.active.label} failed ({exc}); now using PyTorch.")
            self.active = self.reference
            return self.active.run(batch)


def select_engine(
    requested: str,
    model: nn.Module,
    spec: WeightsSpec,
    *,
    images: tuple[Path, ...] | list[Path] = (),
    cache: EngineCache | None = None,
) -> SelectedEngine:
    """Build (or load from the cache) the engine ``requested`` names, falling back to PyTorch.

    ``images`` are the caller's own pictures, added to the calibration and check images the first
    time an engine is built for these weights.
    """
    from alexnet_gui.core.engines.pytorch import PyTorchEngine

    reference = PyTorchEngine(model)
    name = resolve_name(requested)
    on_cuda = next(model.parameters()).device.type == "cuda"
    if name == "pytorch" or (name == "auto" and on_cuda):
        return SelectedEngine(requested, reference, reference)
    builder = _Builder(model, spec, tuple(images), cache)
    candidates = AUTO_ORDER if name == "auto" else (name,)
    problems: list[str] = []
    for candidate in candidates:
        try:
            engine = builder.build(candidate)
        except Exception as exc:
            log.warning("engine %s is not usable: %s", candidate, exc, exc_info=True)
            problems.append(_reason(candidate, exc))
            if "not installed" in str(exc):
                break
            continue
        agreement = engine.agreement
        if agreement is not None and agreement < QUALITY_BAR:
            problem = f"{engine.label} agrees with fp32 on only {agreement:.1%} of the check images"
            if name == "auto":
                problems.append(problem)
                continue
            problems.append(problem + f" (below {QUALITY_BAR:.0%}; kept because you chose it)")
        selected = SelectedEngine(requested, engine, reference)
        if problems:
            selected.messages.append(f"{'; '.join(problems)}. Using {engine.label}.")
        if on_cuda:
            selected.messages.append(f"{engine.label} runs on the CPU, not on the GPU.")
        return selected
    selected = SelectedEngine(requested, reference, reference)
    selected.messages.append(f"{'; '.join(problems)}. Using PyTorch.")
    return selected


def _reason(candidate: str, exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return f"{candidate} could not be used ({text})"


class _Builder:
    """Builds engines for one model, computing the shared parts (hash, images) at most once."""

    def __init__(
        self,
        model: nn.Module,
        spec: WeightsSpec,
        images: tuple[Path, ...],
        cache: EngineCache | None,
    ) -> None:
        from alexnet_gui.core.engines.cache import EngineCache

        self.model, self.spec, self.images = model, spec, images
        self.cache = cache or EngineCache()
        self._digest: str | None = None
        self._calibration: Any = None
        self._reference: torch.Tensor | None = None

    def digest(self) -> str:
        if self._digest is None:
            from alexnet_gui.core.engines.cache import state_digest

            extra = json.dumps([self.spec.arch, self.spec.preprocessing.as_dict()])
            self._digest = state_digest(self.model, extra=extra)
        return self._digest

    def calibration(self) -> tuple[Any, torch.Tensor]:
        """The calibration set and fp32 logits of its check half, made on first use."""
        if self._calibration is None:
            import torch

            from alexnet_gui.core.engines.calibration import build_calibration_set

            self._calibration = build_calibration_set(self.spec, self.images)
            device = next(self.model.parameters()).device
            with torch.inference_mode():
                self._reference = torch.cat(
                    [
                        self.model(part.to(device)).float().cpu()
                        for part in self._calibration.validate.split(32)
                    ]
                )
        assert self._reference is not None
        return self._calibration, self._reference

    def build(self, name: str) -> Engine:
        from alexnet_gui.core.engines import openvino

        if not openvino.available():
            raise openvino.EngineUnavailable("OpenVINO is not installed")
        key = f"{self.digest()}-{name}-{openvino.cache_version()}"
        return openvino.load_or_build(
            name.removeprefix("openvino-"), self.model, self.spec,
            key=key, cache=self.cache, calibration=self.calibration,
        )  # fmt: skip
