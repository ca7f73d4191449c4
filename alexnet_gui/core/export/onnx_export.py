"""A model as an ONNX file: opset 17, a dynamic batch, the app's metadata in ``metadata_props``.

The exporter is ``torch.onnx.export`` with ``dynamo=False`` (the TorchScript path): it needs only
the ``onnx`` package, where the newer torch.export path also needs ``onnxscript`` and is no
better for a network of plain convolutions. Opset 17 is read by every ONNX Runtime since 1.11
and by OpenVINO.

int8 is the app's own recipe (:mod:`alexnet_gui.core.engines.calibration`, the one the OpenVINO
int8 engine is made with): the calibrated ``fake_quantize`` ops become QuantizeLinear /
DequantizeLinear pairs (the "QDQ" format ONNX Runtime and OpenVINO run in int8), and the
weights are then stored as int8, a quarter of the fp32 file.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from alexnet_gui.core.engines.calibration import (
    CalibrationSet,
    FakeQuantized,
    collect_ranges,
    fake_quantized,
)

# The OpenVINO engines' step, shared so both formats compute the same graph.
from alexnet_gui.core.engines.openvino import without_identity_pool
from alexnet_gui.core.export.metadata import INPUT_NAME, OUTPUT_NAME
from alexnet_gui.core.models.spec import WeightsSpec

OPSET = 17
BATCH_AXIS = "batch"


def write_onnx(
    model: nn.Module,
    spec: WeightsSpec,
    path: Path,
    metadata: Mapping[str, str],
    *,
    calibration: CalibrationSet | None = None,
) -> None:
    """Write ``model`` to ``path`` (fake-quantised for int8 when ``calibration`` is given)."""
    size = spec.preprocessing.crop_size
    # Dropping the 6x6-to-6x6 pool also lets the paper architecture export: after its LRN the
    # exporter no longer knows the map size an adaptive pool needs.
    model = without_identity_pool(copy.deepcopy(model).cpu().float().eval(),
                                  torch.zeros(1, 3, size, size))
    if calibration is not None:
        model = fake_quantized(model, collect_ranges(model, calibration.calibrate))
        for module in model.modules():
            if isinstance(module, FakeQuantized):
                module.weight_range = (-128, 127)  # ONNX's int8; the same numbers (see there)
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export, which would need
        # onnxscript as well; torch is pinned, and this path is tested.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        # The paper architecture's LRN: a check on an empty input traced as a constant, and
        # Slice steps left unfolded; both harmless, and noise on the command line.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", "Constant folding", UserWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, size, size),),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: BATCH_AXIS}, OUTPUT_NAME: {0: BATCH_AXIS}},
        )
    import onnx

    proto = onnx.load(str(path))
    if calibration is not None:
        _store_weights_as_int8(proto)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"AlexNet ({spec.arch}) exported by alexnet-gui from {spec.name}"
    onnx.save(proto, str(path))


def read_onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, as a dict."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {entry.key: entry.value for entry in proto.metadata_props}


def onnx_opset(path: Path) -> int:
    """The default-domain opset an ONNX file declares."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return next(int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def _store_weights_as_int8(proto: object) -> None:
    """Fold ``QuantizeLinear(fp32 weight)`` into an int8 initializer feeding its DequantizeLinear.

    The exporter quantises the weights at run time, from fp32 initializers; folding does it once,
    with ONNX's own rule (round half to even, then clamp), so the results do not change.
    """
    from onnx import numpy_helper

    graph = proto.graph  # type: ignore[attr-defined]
    initializers = {init.name: init for init in graph.initializer}
    # Constants, and the Identity nodes the exporter adds where two tensors are equal.
    producers = {
        node.output[0]: node for node in graph.node if node.op_type in ("Constant", "Identity")
    }

    def array(name: str) -> np.ndarray | None:
        if name in initializers:
            return numpy_helper.to_array(initializers[name])
        node = producers.get(name)
        if node is None:
            return None
        if node.op_type == "Identity":
            return array(node.input[0])
        return numpy_helper.to_array(node.attribute[0].t)

    folded = []
    for node in graph.node:
        weight = array(node.input[0]) if node.op_type == "QuantizeLinear" else None
        if weight is None:
            continue
        scale = array(node.input[1])
        zero = array(node.input[2]) if len(node.input) > 2 else None
        if weight is None or scale is None or zero is None or zero.dtype != np.int8:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * weight.ndim
        shape[axis] = -1
        scale = scale.reshape(shape) if scale.ndim else scale
        zero_point = zero.reshape(shape).astype(np.int32) if zero.ndim else int(zero)
        values = np.clip(np.rint(weight / scale) + zero_point, -128, 127).astype(np.int8)
        folded.append((node, numpy_helper.from_array(values, name=f"{node.input[0]}_int8")))
    for node, init in folded:
        graph.initializer.append(init)
        for consumer in graph.node:
            for index, name in enumerate(consumer.input):
                if name == node.output[0]:
                    consumer.input[index] = init.name
        graph.node.remove(node)
    outputs = {output.name for output in graph.output}
    while True:  # drop the Identity and Constant nodes nothing reads any more
        used = {name for node in graph.node for name in node.input} | outputs
        dead = [n for n in producers.values() if n in graph.node and n.output[0] not in used]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    for init in list(graph.initializer):
        if init.name not in used:
            graph.initializer.remove(init)
