"""Export a model for other programs: weights in, one checked ONNX or OpenVINO file out.

One path for the CLI (``alexnet-gui export``) and the app (Model > Export...): load the weights
safely, calibrate for int8 the way the app's int8 engine is calibrated, write into a temporary
folder beside the destination, run the written file (through OpenVINO, which reads both formats)
and compare it with PyTorch, and only then move it into place. A failure leaves nothing behind,
and the report says how close the file is to PyTorch: the largest logit difference for fp32, the
top-1 agreement on held-out real images for int8.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alexnet_gui.core.errors import UserFacingError

if TYPE_CHECKING:
    import torch

    from alexnet_gui.core.engines.calibration import CalibrationSet
    from alexnet_gui.core.models.spec import WeightsSpec
    from alexnet_gui.core.models.weights import LoadedModel

FORMATS: tuple[str, ...] = ("onnx", "openvino")
SUFFIXES = {"onnx": ".onnx", "openvino": ".xml"}
FORMAT_LABELS = {"onnx": "ONNX", "openvino": "OpenVINO IR"}
CHECK_PHOTOS = 8  # bundled photos an fp32 export is compared with PyTorch on
INT8_BAR = 0.98  # the agreement the app's ``auto`` engine asks of int8

#: ``(what is being done, steps done, steps in all)``
Progress = Callable[[str, int, int], None]


class ExportError(UserFacingError):
    """The model cannot be exported (or written) as asked."""


class ExportCancelled(ExportError):
    """The user cancelled the export; nothing was written."""


@dataclass(frozen=True)
class ExportReport:
    """What was written, how long it took and how close it is to PyTorch."""

    format: str
    path: Path
    files: tuple[Path, ...]
    precision: str
    opset: int | None
    seconds: float
    size_bytes: int
    classes: int
    source: str
    checked_on: int
    max_abs_diff: float | None = None  # fp32: largest |logit - PyTorch's logit|
    agreement: float | None = None  # int8: share of held-out images with PyTorch's top-1
    calibration: str = ""

    def lines(self) -> list[str]:
        """The report in a few lines, for the CLI and the app."""
        what = FORMAT_LABELS[self.format] + (f" (opset {self.opset})" if self.opset else "")
        first = (f"Exported {self.source} as {what}, {self.precision}, {self.classes} classes, "
                 f"batch size free, in {self.seconds:.1f} s: {self.path} "
                 f"({self.size_bytes / 1e6:.1f} MB)")
        lines = [first]
        if len(self.files) > 1:
            lines.append("Files: " + ", ".join(str(path) for path in self.files))
        if self.max_abs_diff is not None:
            lines.append(f"Checked: its logits are within {self.max_abs_diff:.1e} of PyTorch's "
                         f"on {self.checked_on} photos.")
        if self.agreement is not None:
            lines.append(f"Checked: its top-1 is PyTorch fp32's on {self.agreement:.1%} of "
                         f"{self.checked_on} held-out images (calibrated on {self.calibration}).")
        return lines

    @property
    def warning(self) -> str | None:
        """A line for the user when int8 agrees with fp32 less than the app asks of it."""
        if self.agreement is None or self.agreement >= INT8_BAR:
            return None
        return (f"int8 agrees with fp32 on only {self.agreement:.1%} of the held-out images "
                f"(the app's engines ask {INT8_BAR:.0%}); the fp32 export is safer.")


def output_path(weights: Path | None, fmt: str, out: Path | None, *, int8: bool) -> Path:
    """``out`` checked (its suffix added if it has none), or ``NAME[-int8].onnx|.xml`` beside
    the weights (the ImageNet file's folder when ``weights`` is ``None``)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (choose {' or '.join(FORMATS)})")
    suffix = SUFFIXES[fmt]
    if out is None:
        source = weights if weights is not None else _imagenet_file()
        stem = source.name.split(".")[0] or source.name
        return source.with_name(f"{stem}{'-int8' if int8 else ''}{suffix}")
    if not out.suffix:
        return out.with_name(out.name + suffix)
    if out.suffix.lower() != suffix:
        raise ExportError(f"an {FORMAT_LABELS[fmt]} file must end in {suffix}: {out}")
    return out


def _imagenet_file() -> Path:
    from alexnet_gui.core.errors import WeightsNotFoundError
    from alexnet_gui.core.models.weights import find_imagenet_weights, missing_imagenet_message

    found = find_imagenet_weights()
    if found is None:
        raise WeightsNotFoundError(missing_imagenet_message())
    return found


def export_model(
    weights: Path | None,
    fmt: str,
    out: Path | None = None,
    *,
    int8: bool = False,
    images: Sequence[Path] = (),
    progress: Progress | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> ExportReport:
    """Export ``weights`` (``None``: ImageNet) as ``fmt``; ``images`` join the int8 calibration.

    Raises :class:`ExportError` (or another :class:`UserFacingError`) with one line for the user.
    """
    from alexnet_gui.core.models.weights import load_weights

    start = time.perf_counter()
    path = output_path(weights, fmt, out, int8=int8)
    total = 5 if int8 else 4
    done = 0

    def step(text: str) -> None:
        nonlocal done
        if is_cancelled is not None and is_cancelled():
            raise ExportCancelled("Export cancelled; nothing was written.")
        if progress is not None:
            progress(text, done, total)
        done += 1

    step("Loading the weights…")
    loaded = load_weights(weights)
    calibration = None
    if int8:
        step("Calibrating int8 on real images…")
        from alexnet_gui.core.engines.calibration import build_calibration_set

        calibration = build_calibration_set(loaded.spec, images)
    with _staging(path) as folder:
        step(f"Converting to {FORMAT_LABELS[fmt]}…")
        staged = folder / path.name
        try:
            files = _write(fmt, loaded, staged, calibration)
        except OSError as exc:  # a full disk, a folder made read-only meanwhile
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
        step("Checking the file against PyTorch…")
        check = _check(loaded, staged, calibration)
        step("Saving…")
        final = [_move(file, path.parent) for file in files]
    if progress is not None:
        progress("Done.", total, total)
    opset = None
    if fmt == "onnx":
        from alexnet_gui.core.export.onnx_export import OPSET

        opset = OPSET
    return ExportReport(
        format=fmt, path=path, files=tuple(final), precision="int8" if int8 else "fp32",
        opset=opset, seconds=time.perf_counter() - start,
        size_bytes=sum(file.stat().st_size for file in final),
        classes=loaded.spec.num_classes, source=Path(loaded.spec.source).name or loaded.spec.name,
        **check,
    )  # fmt: skip


def _write(
    fmt: str, loaded: LoadedModel, staged: Path, calibration: CalibrationSet | None
) -> list[Path]:
    from alexnet_gui.core.export.metadata import export_metadata

    model, spec = loaded.model, loaded.spec
    metadata = export_metadata(spec, precision="fp32" if calibration is None else "int8")
    if fmt == "onnx":
        import torch.onnx

        from alexnet_gui.core.export.onnx_export import write_onnx

        try:
            write_onnx(model, spec, staged, metadata, calibration=calibration)
        except torch.onnx.OnnxExporterError as exc:  # an operator ONNX has no form for
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ExportError(f"this model cannot be written as ONNX: {first}") from exc
        return [staged]
    from alexnet_gui.core.export.openvino_export import write_ir

    return write_ir(model, spec, staged, metadata, calibration=calibration)


def _check(
    loaded: LoadedModel, staged: Path, calibration: CalibrationSet | None
) -> dict[str, Any]:
    """Run the written file through OpenVINO (fp32 maths) and compare it with PyTorch."""
    import openvino as ov
    import torch

    from alexnet_gui.core.engines.calibration import agreement

    model, spec = loaded.model, loaded.spec
    inputs = _check_photos(spec) if calibration is None else calibration.validate
    try:
        compiled = ov.Core().compile_model(
            str(staged), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        )
    except RuntimeError as exc:  # OpenVINO cannot read it (a bundle without its ONNX reader)
        first = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else ""
        raise ExportError(f"the written file could not be checked with OpenVINO: {first}") from exc
    with torch.inference_mode():
        reference = torch.cat([model(part).float() for part in inputs.split(32)])
    logits = torch.cat([
        torch.from_numpy(compiled(part.numpy())[0].copy()) for part in inputs.split(32)
    ])  # fmt: skip
    if calibration is None:
        return {"checked_on": len(inputs),
                "max_abs_diff": float((logits - reference).abs().max())}
    return {"checked_on": len(inputs), "agreement": agreement(reference, logits),
            "calibration": calibration.description}


def _check_photos(spec: WeightsSpec) -> torch.Tensor:
    import torch

    from alexnet_gui.core.engines.calibration import bundled_photos
    from alexnet_gui.core.imaging.decode import load_image
    from alexnet_gui.core.imaging.preprocess import eval_transform

    transform = eval_transform(spec.preprocessing)
    photos = bundled_photos()[:CHECK_PHOTOS]
    if not photos:  # a stripped install: the check still runs, on a plain grey picture
        from PIL import Image

        return transform(Image.new("RGB", (256, 256), (128, 128, 128))).unsqueeze(0)
    return torch.stack([transform(load_image(photo)) for photo in photos])


class _staging:
    """A temporary folder beside ``path``, removed with whatever is left in it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Path:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=".export-", dir=self.path.parent))
        except OSError as exc:
            raise ExportError(
                f"cannot write in {self.path.parent}: {exc.strerror or exc}"
            ) from exc
        return self.folder

    def __exit__(self, *_exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _move(file: Path, folder: Path) -> Path:
    target = folder / file.name
    try:
        os.replace(file, target)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
