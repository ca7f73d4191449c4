"""Exported models run by other runtimes: ONNX Runtime for ONNX, OpenVINO for the IR.

The reference is always PyTorch on the same inputs. fp32 must give the same logits (1e-4);
int8 is judged by top-1 agreement on a trained model (``photo_classifier``), whose decisions
have real margins: a random model's near-ties would make agreement a property of the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest
import torch

from alexnet_gui.core.export.exporter import ExportError, export_model, output_path
from alexnet_gui.core.export.metadata import MetadataError, read_metadata
from alexnet_gui.core.export.onnx_export import OPSET, onnx_opset, read_onnx_metadata
from alexnet_gui.core.export.openvino_export import read_ir_metadata
from alexnet_gui.core.imaging.preprocess import eval_transform
from alexnet_gui.core.models.weights import LoadedModel

pytestmark = pytest.mark.slow


def _onnx_run(path: Path, batch: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(["logits"], {"image": batch.numpy()})[0])


def _openvino_run(path: Path, batch: torch.Tensor) -> torch.Tensor:
    core = ov.Core()
    compiled = core.compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return torch.from_numpy(compiled({"image": batch.numpy()})["logits"].copy())


RUNTIMES = {"onnx": _onnx_run, "openvino": _openvino_run}


def _batch(model: LoadedModel, crops) -> torch.Tensor:
    transform = eval_transform(model.spec.preprocessing)
    return torch.stack([transform(crop) for _, crop in crops])


def _pytorch(model: LoadedModel, batch: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model.model(batch)


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_fp32_logits_equal_pytorch_on_real_photos(
    fmt, exported, photo_classifier, real_photos
) -> None:
    report = exported(fmt)
    batch = _batch(photo_classifier, real_photos)
    logits = RUNTIMES[fmt](report.path, batch)
    reference = _pytorch(photo_classifier, batch)
    assert logits.shape == reference.shape == (len(real_photos), 14)
    assert torch.allclose(logits, reference, atol=1e-4, rtol=0), (logits - reference).abs().max()
    assert report.max_abs_diff is not None and report.max_abs_diff < 1e-4
    assert report.precision == "fp32" and report.checked_on > 0


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_the_batch_size_is_free(fmt, exported, photo_classifier, real_photos) -> None:
    path = exported(fmt).path
    batch = _batch(photo_classifier, real_photos[:3])
    three = RUNTIMES[fmt](path, batch)
    one = RUNTIMES[fmt](path, batch[1:2])
    assert three.shape == (3, 14) and one.shape == (1, 14)
    assert torch.allclose(one[0], three[1], atol=1e-4)


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_int8_keeps_top1_on_a_trained_model(
    fmt, exported, photo_classifier, many_photo_crops
) -> None:
    report = exported(fmt, int8=True)
    batch = _batch(photo_classifier, many_photo_crops)
    fp32 = _pytorch(photo_classifier, batch).argmax(dim=1)
    # The premise: fp32 knows which photo a crop comes from (chance: 1 in 14), real margins.
    photos = torch.tensor([photo_classifier.spec.categories.index(n) for n, _ in many_photo_crops])
    assert (fp32 == photos).float().mean() >= 0.8
    int8 = RUNTIMES[fmt](report.path, batch).argmax(dim=1)
    agreeing = int((int8 == fp32).sum())
    assert agreeing / len(batch) >= 0.98, f"int8 agrees on {agreeing}/{len(batch)} crops"
    assert report.precision == "int8" and report.agreement is not None
    assert report.agreement >= 0.98 and report.warning is None
    assert report.size_bytes < exported(fmt).size_bytes / 3  # the weights are stored in int8


def test_onnx_states_its_opset_and_names(exported) -> None:
    path = exported("onnx").path
    assert onnx_opset(path) == OPSET == exported("onnx").opset
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (image,), (logits,) = session.get_inputs(), session.get_outputs()
    assert image.name == "image" and logits.name == "logits"
    assert image.type == "tensor(float)" and isinstance(image.shape[0], str)
    assert image.shape[1:] == [3, 224, 224] and logits.shape[1] == 14
    assert f"opset {OPSET}" in exported("onnx").lines()[0]


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_metadata_round_trips(fmt, exported, photo_classifier) -> None:
    path = exported(fmt).path
    props = read_onnx_metadata(path) if fmt == "onnx" else read_ir_metadata(path)
    info = read_metadata(props)
    spec = photo_classifier.spec
    assert info.categories == spec.categories and "chelsea" in info.categories
    assert info.preprocessing == spec.preprocessing
    assert info.arch == "torchvision" and info.precision == "fp32"
    assert info.source_weights == spec.name and props["source_file"] == "photos.pth"
    assert info.app_version.startswith("alexnet-gui ")
    pre = json.loads(props["preprocessing"])
    assert pre["input_size"] == 224 and pre["interpolation"] == "bilinear"
    assert pre["mean"] == list(spec.preprocessing.mean)
    if fmt == "onnx":  # what another program sees through ONNX Runtime's own API
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert session.get_modelmeta().custom_metadata_map == props


def test_metadata_without_our_keys_is_refused() -> None:
    with pytest.raises(MetadataError):
        read_metadata({"producer": "someone else"})
    with pytest.raises(MetadataError):
        read_metadata({"alexnet_gui_metadata": "1", "class_names": "[", "preprocessing": "{}"})


def test_default_output_is_beside_the_weights(tmp_path: Path) -> None:
    weights = tmp_path / "model.pth"
    assert output_path(weights, "onnx", None, int8=False) == tmp_path / "model.onnx"
    assert output_path(weights, "openvino", None, int8=True) == tmp_path / "model-int8.xml"
    assert output_path(weights, "onnx", tmp_path / "x", int8=False) == tmp_path / "x.onnx"
    with pytest.raises(ExportError, match=r"must end in \.xml"):
        output_path(weights, "openvino", tmp_path / "x.onnx", int8=False)


def test_an_unwritable_destination_leaves_nothing(state_dict_file: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="cannot write"):
        export_model(state_dict_file, "onnx", blocker / "model.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_a_file_openvino_cannot_read_is_an_error_and_leaves_nothing(
        state_dict_file: Path, tmp_path: Path, monkeypatch) -> None:
    """The first bundle left out OpenVINO's ONNX reader: the check crashed with a traceback."""
    def unreadable(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("Unable to read the model\nAvailable frontends: jax pytorch ir tf")

    monkeypatch.setattr(ov.Core, "compile_model", unreadable)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match="could not be checked with OpenVINO: Available"):
        export_model(state_dict_file, "onnx", out / "m.onnx")
    assert list(out.iterdir()) == []


def test_cancelling_writes_nothing(state_dict_file: Path, tmp_path: Path) -> None:
    stages: list[str] = []

    def progress(text: str, _done: int, _total: int) -> None:
        stages.append(text)

    with pytest.raises(ExportError, match="cancelled"):
        export_model(state_dict_file, "onnx", tmp_path / "m.onnx", progress=progress,
                     is_cancelled=lambda: len(stages) >= 1)
    assert list(tmp_path.iterdir()) == [] and stages == ["Loading the weights…"]


def test_softmax_of_the_file_matches_the_apps_probabilities(exported, photo_classifier,
                                                           real_photos) -> None:
    batch = _batch(photo_classifier, real_photos[:4])
    logits = _onnx_run(exported("onnx").path, batch).numpy().astype(np.float64)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    reference = torch.softmax(_pytorch(photo_classifier, batch), dim=1).numpy()
    assert np.allclose(probabilities, reference, atol=1e-5)


def test_the_paper_architecture_exports_too(paper_checkpoint_file: Path, tmp_path: Path,
                                            real_photos) -> None:
    """LRN and grouped convolutions; the exporter cannot size an adaptive pool after an LRN,
    so the identity pool is dropped as for the OpenVINO engines."""
    from alexnet_gui.core.models.weights import load_weights

    report = export_model(paper_checkpoint_file, "onnx", tmp_path / "paper.onnx")
    loaded = load_weights(paper_checkpoint_file)
    batch = _batch(loaded, real_photos[:6])
    assert batch.shape[-1] == 227
    logits, reference = _onnx_run(report.path, batch), _pytorch(loaded, batch)
    scale = float(reference.abs().max())  # random weights: judged relative to their scale
    assert torch.allclose(logits, reference, atol=1e-5 * scale, rtol=1e-4)
    assert read_metadata(read_onnx_metadata(report.path)).arch == "paper"
