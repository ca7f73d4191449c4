"""Builds the engines of one model: the shared parts (weights hash, calibration) at most once,
the cache keys, the speeds measured on this CPU and kept in the cache's manifests.

:mod:`.select` decides which engine runs; this module only makes and measures them.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alexnet_gui.core.engines.names import AUTO_CANDIDATES

if TYPE_CHECKING:
    import torch
    from torch import nn

    from alexnet_gui.core.engines.cache import EngineCache
    from alexnet_gui.core.engines.select import Engine
    from alexnet_gui.core.models.spec import WeightsSpec

log = logging.getLogger(__name__)


def fresh(info: Mapping[str, Any]) -> bool:
    """Whether ``info`` holds a speed measured on this CPU, with these threads."""
    from alexnet_gui.core.engines import speed

    return speed.is_fresh(info.get("speed"))


def batch1_ms(info: Mapping[str, Any]) -> float | None:
    """The batch-1 time in ``info``, if it was measured here."""
    value = info.get("speed")
    return float(value["batch1_ms"]) if fresh(info) and isinstance(value, dict) else None


def _facts_only(facts: dict[str, Any], _folder: Path) -> dict[str, Any]:
    """A cache writer that writes no file: the entry is its manifest's facts."""
    return facts



class EngineBuilder:
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
        """The weights file's SHA-256 (:func:`.cache.weights_digest`), so the fast start path
        finds the engines without torch; a model made in memory has its state's instead."""
        if self._digest is None:
            from alexnet_gui.core.engines.cache import state_digest, weights_digest

            self._digest = weights_digest(self.spec, self.cache)
            if self._digest is None:
                extra = json.dumps([self.spec.arch, self.spec.preprocessing.as_dict()])
                self._digest = state_digest(self.model, extra=extra)
        return self._digest

    def key(self, name: str) -> str:
        """The cache key of ``name`` for these weights (PyTorch's entry holds its speed only)."""
        if name == "pytorch":
            from alexnet_gui.core.engines.openvino_runtime import engine_key

            return engine_key(self.digest(), "pytorch")
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
            if name == "pytorch" and not fresh(self.reference.info):
                info = self.peek(name)
            ms = batch1_ms(info) if info is not None else None
            if ms is not None:
                found[name] = ms
        return found

    def measure(self, engines: Iterable[Engine]) -> None:
        """Time the engines that have no speed from this CPU yet, together, and keep the figures
        in their cache manifests (PyTorch's in a facts-only entry); a cached speed is reused."""
        from alexnet_gui.core.engines import speed

        if self.reference.info.get("speed") is None:
            cached = self.peek("pytorch")
            if cached is not None and fresh(cached):
                self.reference.info["speed"] = cached["speed"]
        todo = [engine for engine in engines if not fresh(engine.info)]
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
