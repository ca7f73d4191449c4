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

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alexnet_gui.core.engines.builder import EngineBuilder, batch1_ms, fresh
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
    builder = EngineBuilder(model, spec, tuple(images), cache, reference)
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
        return "chosen in Options > Engine, by --engine, or by Teach for a model it taught"
    return f"auto, set to {name} by ${ENGINE_ENV}"


def _logged(selected: SelectedEngine) -> SelectedEngine:
    log.info("engine: %s", selected.decision)
    return selected


def below_bar_message(label: str, agreement: float) -> str:
    """What the user is told when the engine they chose falls short of the quality bar."""
    return (
        f"{label} agrees with fp32 on only {agreement:.1%} of the check images "
        f"(below {QUALITY_BAR:.0%}; kept because you chose it)."
    )


def _chosen(
    requested: str, name: str, builder: EngineBuilder, reference: Engine
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
        selected.messages.append(below_bar_message(engine.label, agreement))
    facts = [f"{ms:.0f} ms" for ms in [batch1_ms(engine.info)] if ms is not None]
    if agreement is not None:
        facts.append(f"agrees with fp32 on {agreement:.1%}")
    detail = f" ({', '.join(facts)})" if facts else ""
    selected.decision = f"{engine.label}: {_why(requested, name)}{detail}."
    return selected


def _auto(requested: str, builder: EngineBuilder, reference: Engine) -> SelectedEngine:
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
        if info is None or not fresh(info):
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
            ms = batch1_ms(info)
            timed = f"{ms:.0f} ms, " if ms is not None else ""
            left_out[name] = f"{timed}agrees with fp32 on only {float(agreement):.1%}"
        else:
            passing.append(name)
    order = {name: i for i, name in enumerate((*AUTO_CANDIDATES, "pytorch"))}
    passing.sort(key=lambda n: (batch1_ms(facts[n]) or float("inf"), order[n]))
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
    ms = batch1_ms(facts.get(engine.name, {}))
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


def _text(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _reason(candidate: str, exc: Exception) -> str:
    return f"{candidate} could not be used ({_text(exc)})"
