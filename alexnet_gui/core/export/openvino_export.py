"""A model as OpenVINO IR (``.xml`` + ``.bin``), fp32 or int8, the app's metadata in ``rt_info``.

The conversion is the one the app's own OpenVINO engines use
(:func:`alexnet_gui.core.engines.openvino.convert`): the same identity-pool removal, the same
calibration and fake quantisation for int8, a dynamic batch. Only the names of the input and the
output ("image", "logits") and the metadata are added here, so an exported int8 IR computes what
the app's cached int8 engine computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from alexnet_gui.core.engines.calibration import CalibrationSet
from alexnet_gui.core.export.metadata import INPUT_NAME, OUTPUT_NAME, RT_INFO_SECTION
from alexnet_gui.core.models.spec import WeightsSpec


def write_ir(
    model: nn.Module,
    spec: WeightsSpec,
    path: Path,
    metadata: Mapping[str, str],
    *,
    calibration: CalibrationSet | None = None,
) -> list[Path]:
    """Write ``path`` (``.xml``) and its ``.bin``; the two paths."""
    import openvino as ov

    from alexnet_gui.core.engines import openvino

    flavour = "fp32" if calibration is None else "int8"
    converted = openvino.convert(model.cpu().float(), spec, flavour, calibration)
    converted.inputs[0].get_tensor().set_names({INPUT_NAME})
    converted.outputs[0].get_tensor().set_names({OUTPUT_NAME})
    for key, value in metadata.items():
        converted.set_rt_info(value, [RT_INFO_SECTION, key])
    # fp16 compression would change fp32's weights; int8 layers are stored compressed anyway.
    ov.save_model(converted, str(path), compress_to_fp16=False)
    return [path, path.with_suffix(".bin")]


def read_ir_metadata(path: Path) -> dict[str, str]:
    """The app's metadata in an IR's ``rt_info``, as a dict (empty if there is none)."""
    import openvino as ov

    return ir_metadata(ov.Core().read_model(str(path)))


def ir_metadata(model: Any) -> dict[str, str]:
    """The app's metadata of a read ``ov.Model``."""
    if not model.has_rt_info([RT_INFO_SECTION]):
        return {}
    section = model.get_rt_info()[RT_INFO_SECTION]
    keys = section.keys() if isinstance(section, dict) else section.astype(dict).keys()
    return {str(key): model.get_rt_info([RT_INFO_SECTION, key]).astype(str) for key in keys}
