"""Inference engines: the same AlexNet run by PyTorch (the reference) or by a faster runtime.

Only ``Classifier.classify``/``classify_batch`` use the engine; ``inspect()``, activations and
Grad-CAM always run the PyTorch model, because they need hooks and gradients.

``auto`` (the default setting) takes the fastest engine, measured on this CPU, that keeps the
quality bar; PyTorch on a CUDA GPU. Why measured here: the order depends on the CPU (bf16 beats
fp32 with AVX-512 BF16 and loses to it without), so a fixed order measured elsewhere picks the
wrong engine on someone else's machine. The candidates are PyTorch and the OpenVINO engines this
CPU runs natively (:func:`.cpu.runs_natively`: never bf16 without AVX-512 BF16 or AMX). Each is
timed (:mod:`.speed`) when it is built, and the figure is kept in its cache manifest, so a later
start reads the manifests, loads only the winner and measures nothing.

The bar is checked where the model is converted, on the model the user actually loaded: top-1
agreement with PyTorch fp32 of at least 98% on held-out real images (bundled photos, the
checkpoint's own training images when its folder still exists, and images the caller passes; see
:mod:`.calibration`). The figure is stored with the cached engine, so the check runs once per
weights.

What the user is told is split in two. :attr:`SelectedEngine.decision` is the app's own choice
and why (the status bar, the model panel, the log): ``auto`` passing over int8 for fp32 is not an
error. :attr:`SelectedEngine.messages` holds only what the user must act on (the message bar,
the CLI's stderr): an engine they chose that cannot be built, falls short of the bar, or fails
while running; PyTorch runs instead and :meth:`SelectedEngine.take_message` says so once.

Importing this module costs neither torch nor OpenVINO; the names live in :mod:`.names`.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alexnet_gui.core.engines.names import (
    AUTO_CANDIDATES,
    ENGINE_ENV,
    QUALITY_BAR,
    resolve_name,
    short_name,
)

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
    """The engine in use, the PyTorch reference behind it, why it was chosen, and what the user
    must be told."""

    requested: str
    active: Engine
    reference: Engine
    #: Problems the user must act on (the message bar, stderr), each shown once.
    messages: list[str] = field(default_factory=list)
    #: Which engine runs and why, in one sentence (status bar, model panel, log).
    decision: str = ""
    #: Batch-1 milliseconds measured on this CPU, by engine name, for every engine built so far.
    timings: dict[str, float] = field(default_factory=dict)

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

    def timings_ms(self) -> tuple[tuple[str, float], ...]:
        """:attr:`timings`, fastest first."""
        return tuple(sorted(self.timings.items(), key=lambda item: item[1]))

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
            self.decision = f"{self.reference.label}: {self.active.label} failed while running."
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
        selected = SelectedEngine(requested, reference, reference)
        why = "auto on a CUDA GPU" if name == "auto" else _why(requested, name)
        selected.decision = f"{reference.label}: {why}."
        return _logged(selected)
    builder = _Builder(model, spec, tuple(images), cache, reference)
    if name == "auto":
        selected = _auto(requested, builder, reference)
    else:
        selected = _chosen(requested, name, builder, reference)
    if on_cuda and selected.active is not reference:
        selected.decision += f" {selected.label} runs on the CPU, not on the GPU."
    selected.timings = builder.timings()
    return _logged(selected)


def _why(requested: str, name: str) -> str:
    if requested == name:
        return "chosen in Options > Engine (or --engine)"
    return f"auto, set to {name} by ${ENGINE_ENV}"


def _logged(selected: SelectedEngine) -> SelectedEngine:
    log.info("engine: %s", selected.decision)
    return selected


def _chosen(
    requested: str, name: str, builder: _Builder, reference: Engine
) -> SelectedEngine:
    """The engine the user named, even below the bar (they are told); PyTorch if it cannot run."""
    try:
        engine = builder.build(name)
        builder.measure([engine])
    except Exception as exc:
        log.warning("engine %s is not usable: %s", name, exc, exc_info=True)
        selected = SelectedEngine(requested, reference, reference)
        selected.messages.append(f"{_reason(name, exc)}. Using PyTorch.")
        selected.decision = f"{reference.label}: {name} could not be used."
        return selected
    selected = SelectedEngine(requested, engine, reference)
    agreement = engine.agreement
    if agreement is not None and agreement < QUALITY_BAR:
        selected.messages.append(
            f"{engine.label} agrees with fp32 on only {agreement:.1%} of the check images "
            f"(below {QUALITY_BAR:.0%}; kept because you chose it)."
        )
    facts = [f"{ms:.0f} ms" for ms in [_batch1_ms(engine.info)] if ms is not None]
    if agreement is not None:
        facts.append(f"agrees with fp32 on {agreement:.1%}")
    detail = f" ({', '.join(facts)})" if facts else ""
    selected.decision = f"{engine.label}: {_why(requested, name)}{detail}."
    return selected


def _auto(requested: str, builder: _Builder, reference: Engine) -> SelectedEngine:
    """The fastest engine measured here that keeps the bar, among those the CPU runs natively."""
    from alexnet_gui.core.engines import cpu, openvino

    if not openvino.available():
        selected = SelectedEngine(requested, reference, reference)
        selected.decision = (
            f"{reference.label}: auto, because OpenVINO is not installed (pip install openvino)."
        )
        return selected
    left_out: dict[str, str] = {}
    built: dict[str, Engine] = {}
    facts: dict[str, Mapping[str, Any]] = {}
    for name in AUTO_CANDIDATES:
        if not cpu.runs_natively(name):
            left_out[name] = "not native on this CPU"
            continue
        info = builder.peek(name)
        if info is None or not _fresh(info):
            try:
                built[name] = builder.build(name)
            except Exception as exc:
                log.warning("engine %s is not usable: %s", name, exc, exc_info=True)
                left_out[name] = f"could not be built: {_text(exc)}"
                continue
            info = built[name].info
        facts[name] = info
    builder.measure([*built.values(), reference])  # only those without a speed from here
    for name, engine in built.items():
        facts[name] = engine.info
    facts["pytorch"] = reference.info
    passing: list[str] = []
    for name, info in facts.items():
        agreement = info.get("agreement") if name != "pytorch" else 1.0
        if agreement is not None and float(agreement) < QUALITY_BAR:
            ms = _batch1_ms(info)
            timed = f"{ms:.0f} ms, " if ms is not None else ""
            left_out[name] = f"{timed}agrees with fp32 on only {float(agreement):.1%}"
        else:
            passing.append(name)
    order = {name: i for i, name in enumerate((*AUTO_CANDIDATES, "pytorch"))}
    passing.sort(key=lambda n: (_batch1_ms(facts[n]) or float("inf"), order[n]))
    for name in passing:
        if name == "pytorch":
            engine = reference
        else:
            try:
                engine = built[name] if name in built else builder.build(name)
            except Exception as exc:
                log.warning("cached engine %s is not usable: %s", name, exc, exc_info=True)
                left_out[name] = f"could not be loaded: {_text(exc)}"
                continue
        break
    else:  # not reached: PyTorch always passes
        engine = reference
    built.clear()  # the engines not chosen are dropped now, not when the selection is
    ms = _batch1_ms(facts.get(engine.name, {}))
    timed = f" ({ms:.0f} ms)" if ms is not None else ""
    decision = (
        f"{engine.label}: auto, the fastest measured on this CPU{timed} that agrees with fp32 on "
        f"at least {QUALITY_BAR:.0%} of the check images"
    )
    if left_out:
        parts = [f"{short_name(n)} ({why})" for n, why in left_out.items()]
        decision += f"; left out: {', '.join(parts)}"
    selected = SelectedEngine(requested, engine, reference)
    selected.decision = decision + "."
    return selected


def _fresh(info: Mapping[str, Any]) -> bool:
    from alexnet_gui.core.engines import speed

    return speed.is_fresh(info.get("speed"))


def _batch1_ms(info: Mapping[str, Any]) -> float | None:
    value = info.get("speed")
    return float(value["batch1_ms"]) if _fresh(info) and isinstance(value, dict) else None


def _facts_only(facts: dict[str, Any], _folder: Path) -> dict[str, Any]:
    """A cache writer that writes no file: the entry is its manifest's facts."""
    return facts


def _text(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _reason(candidate: str, exc: Exception) -> str:
    return f"{candidate} could not be used ({_text(exc)})"


class _Builder:
    """Builds engines for one model, computing the shared parts (hash, images) at most once."""

    def __init__(
        self,
        model: nn.Module,
        spec: WeightsSpec,
        images: tuple[Path, ...],
        cache: EngineCache | None,
        reference: Engine,
    ) -> None:
        from alexnet_gui.core.engines.cache import EngineCache

        self.model, self.spec, self.images = model, spec, images
        self.cache = cache or EngineCache()
        self.reference = reference
        self._digest: str | None = None
        self._calibration: Any = None
        self._reference: torch.Tensor | None = None

    def digest(self) -> str:
        if self._digest is None:
            from alexnet_gui.core.engines.cache import state_digest

            extra = json.dumps([self.spec.arch, self.spec.preprocessing.as_dict()])
            self._digest = state_digest(self.model, extra=extra)
        return self._digest

    def key(self, name: str) -> str:
        """The cache key of ``name`` for these weights (PyTorch's entry holds its speed only)."""
        if name == "pytorch":
            import torch

            return f"{self.digest()}-pytorch-torch{torch.__version__}"
        from alexnet_gui.core.engines import openvino

        return f"{self.digest()}-{name}-{openvino.cache_version()}"

    def peek(self, name: str) -> Mapping[str, Any] | None:
        """The facts cached for ``name`` (agreement, speed), without loading the engine."""
        try:
            return self.cache.peek(self.key(name))
        except Exception:  # OpenVINO broken: no version, no key
            log.debug("no cache key for %s", name, exc_info=True)
            return None

    def timings(self) -> dict[str, float]:
        """Batch-1 ms of every engine measured here for these weights (fresh figures only)."""
        found: dict[str, float] = {}
        for name in ("pytorch", *AUTO_CANDIDATES):
            info = self.reference.info if name == "pytorch" else self.peek(name)
            if name == "pytorch" and not _fresh(self.reference.info):
                info = self.peek(name)
            ms = _batch1_ms(info) if info is not None else None
            if ms is not None:
                found[name] = ms
        return found

    def measure(self, engines: Iterable[Engine]) -> None:
        """Time the engines that have no speed from this CPU yet, together, and keep the figures
        in their cache manifests (PyTorch's in a facts-only entry); a cached speed is reused."""
        from alexnet_gui.core.engines import speed

        if self.reference.info.get("speed") is None:
            cached = self.peek("pytorch")
            if cached is not None and _fresh(cached):
                self.reference.info["speed"] = cached["speed"]
        todo = [engine for engine in engines if not _fresh(engine.info)]
        if not todo:
            return
        try:
            measured = speed.measure(todo, self.spec.preprocessing.crop_size)
        except Exception:  # unranked beats unusable: a failing engine fails again when it runs
            log.warning("timing %s failed", [engine.name for engine in todo], exc_info=True)
            return
        for engine in todo:
            figures = measured[engine.name]
            engine.info["speed"] = figures
            log.info("engine %s measured here: %s", engine.name, figures)
            try:
                if engine is self.reference:
                    entry: dict[str, Any] = {"engine": "pytorch", "speed": figures}
                    self.cache.store(self.key("pytorch"), functools.partial(_facts_only, entry))
                else:
                    self.cache.update_info(self.key(engine.name), {"speed": figures})
            except Exception:  # a read-only cache: measured again next time, that is all
                log.warning("could not keep the speed of %s", engine.name, exc_info=True)

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
        return openvino.load_or_build(
            name.removeprefix("openvino-"), self.model, self.spec,
            key=self.key(name), cache=self.cache, calibration=self.calibration,
        )  # fmt: skip
