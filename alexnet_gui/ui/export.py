"""Export a result (annotated PNG + JSON, and the panels' pictures) and the batch table (CSV).

What a panel shows of the picture (the Explain tab's explanation, say) goes along as an
:class:`ExportPicture`: a PNG beside the annotated one, listed in the JSON with what it shows.
Each file is written to a temporary file in the target folder and renamed over the target only
when every file of the export has been written, so a full disk or a read-only folder leaves no
partial file behind and the message says which folder and why.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, QRectF
from PyQt5.QtGui import QImage, QPainter

from alexnet_gui import __version__
from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.messages import ClassifyResult
from alexnet_gui.ui.widgets.overlay import paint_scores
from alexnet_gui.ui.widgets.qimage import array_to_qimage


class ExportError(UserFacingError):
    """An export could not be written; nothing was left behind."""


@dataclass(frozen=True, eq=False)
class ExportPicture:
    """A panel's picture exported with the result: ``NAME.<name>.png`` and a JSON entry.

    ``name`` is a file-name part (``explain-gradcam``); ``record`` says what the picture shows
    (method, layer, class...), in JSON types.
    """

    name: str
    image: np.ndarray = field(repr=False)
    record: Mapping[str, object] = field(default_factory=dict)


def annotated_image(result: ClassifyResult) -> QImage:
    """The picture at its full (display) size with the top-k drawn exactly as on screen."""
    image = array_to_qimage(result.image).convertToFormat(QImage.Format_RGB32)
    scores = result.prediction.scores if result.prediction is not None else ()
    painter = QPainter(image)
    caption = f"AlexNet · {result.model.name}" if result.model is not None else None
    paint_scores(painter, QRectF(image.rect()), scores, caption=caption)
    painter.end()
    return image


def result_record(result: ClassifyResult, image_name: str) -> dict[str, object]:
    """What the JSON beside the PNG says: predictions, model, device and timing."""
    prediction = result.prediction
    model = result.model
    return {
        "app": f"alexnet-gui {__version__}",
        "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "image": image_name,
        "source": str(result.path) if result.path is not None else result.name,
        "predictions": [s.as_dict() for s in prediction.scores] if prediction else [],
        "model": None if model is None else {
            "name": model.name,
            "arch": model.arch,
            "num_classes": model.num_classes,
            "source": model.source,
            "input_size": model.input_size,
        },
        "device": prediction.device if prediction else None,
        "timing_ms": {
            "decode": round(result.decode_ms, 3),
            "inference": round(prediction.elapsed_ms, 3) if prediction else None,
        },
        "tta": prediction.tta if prediction else False,
    }


def export_result(result: ClassifyResult, png_path: Path,
                  extras: Sequence[ExportPicture] = ()) -> tuple[Path, Path]:
    """Write ``png_path`` and the JSON beside it (same name, ``.json``); all files or none.

    Each of ``extras`` goes to ``<png stem>.<name>.png`` and into the JSON's ``"pictures"``.
    """
    png_path = png_path if png_path.suffix.lower() == ".png" else png_path.with_suffix(".png")
    json_path = png_path.with_suffix(".json")
    files = {png_path: encode_png(annotated_image(result))}
    record = result_record(result, png_path.name)
    if extras:
        pictures = []
        for extra in extras:
            path = png_path.with_name(f"{png_path.stem}.{extra.name}.png")
            files[path] = encode_png(array_to_qimage(extra.image))
            pictures.append({"name": extra.name, "image": path.name, **extra.record})
        record["pictures"] = pictures
    text = json.dumps(record, indent=2, ensure_ascii=False)
    files[json_path] = (text + "\n").encode("utf-8")
    write_atomically(files)
    return png_path, json_path


def export_csv(rows: Iterable[Iterable[str]], path: Path) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    write_atomically({path: buffer.getvalue().encode("utf-8")})
    return path


def encode_png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError("Could not encode the image as PNG.")
    buffer.close()
    return bytes(data)


def _file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(files: Mapping[Path, bytes]) -> None:
    """Write every file to a temporary sibling, then rename them all into place.

    If anything fails, the temporary files and any file of this export already renamed into
    place are removed: the export is all the files or none of them.
    """
    written: list[tuple[Path, Path]] = []
    published: list[Path] = []
    try:
        for path, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            written.append((Path(tmp), path))
            with os.fdopen(fd, "wb") as handle:
                if hasattr(os, "fchmod"):  # mkstemp's 0600 -> a normal file's mode
                    os.fchmod(handle.fileno(), _file_mode())
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for tmp_path, path in written:
            os.replace(tmp_path, path)
            published.append(path)
    except BaseException as exc:
        for leftover in [tmp for tmp, _ in written] + published:
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        if not isinstance(exc, OSError):
            raise
        folder = next(iter(files)).parent
        raise ExportError(f"Cannot write to {folder}: {exc.strerror or exc}.") from exc
