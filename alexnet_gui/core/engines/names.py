"""The engines' names and the rules every caller shares: what ``auto`` may pick, the quality bar.

Importing this costs nothing (no torch, no OpenVINO): settings, the CLI's choices and the UI read
these names. :mod:`.select` builds the engine a name asks for.
"""

from __future__ import annotations

import os

from alexnet_gui.core.errors import UserFacingError

ENGINES: tuple[str, ...] = ("auto", "pytorch", "openvino-int8", "openvino-bf16", "openvino-fp32")
#: The converted engines ``auto`` measures, besides PyTorch; it takes the fastest that keeps the
#: bar, among those the CPU runs natively (:mod:`.cpu`). The order only breaks exact ties.
AUTO_CANDIDATES: tuple[str, ...] = ("openvino-int8", "openvino-fp32", "openvino-bf16")
QUALITY_BAR = 0.98
#: Makes ``auto`` mean this engine (the test suite sets ``pytorch``; a user may, too).
ENGINE_ENV = "ALEXNET_GUI_ENGINE"


def resolve_name(requested: str) -> str:
    """Validate a name; ``auto`` becomes ``$ALEXNET_GUI_ENGINE`` when that names an engine."""
    if requested not in ENGINES:
        raise UserFacingError(f"Unknown engine {requested!r}; choose one of {', '.join(ENGINES)}.")
    override = os.environ.get(ENGINE_ENV, "").strip()
    if requested == "auto" and override in ENGINES:
        return override
    return requested


def short_name(engine: str) -> str:
    """``int8`` for ``openvino-int8``, ``PyTorch`` for ``pytorch``: the menu's timing line."""
    return "PyTorch" if engine == "pytorch" else engine.removeprefix("openvino-")


def timings_text(timings: tuple[tuple[str, float], ...] | list[tuple[str, float]]) -> str:
    """``"int8 19 ms, fp32 29 ms, PyTorch 54 ms"``: batch-1 times measured here, fastest first."""
    ordered = sorted(timings, key=lambda item: item[1])
    return ", ".join(f"{short_name(name)} {ms:.0f} ms" for name, ms in ordered)
