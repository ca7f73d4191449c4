"""The engines' names and the rules every caller shares: what ``auto`` may pick, the quality bar.

Importing this costs nothing (no torch, no OpenVINO): settings, the CLI's choices and the UI read
these names. :mod:`.select` builds the engine a name asks for.
"""

from __future__ import annotations

import os

from alexnet_gui.core.errors import UserFacingError

ENGINES: tuple[str, ...] = ("auto", "pytorch", "openvino-int8", "openvino-bf16", "openvino-fp32")
#: Fastest first, as measured on the reference CPU; ``auto`` takes the first that keeps the bar.
AUTO_ORDER: tuple[str, ...] = ("openvino-int8", "openvino-bf16", "openvino-fp32")
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
