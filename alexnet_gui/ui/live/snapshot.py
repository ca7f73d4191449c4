"""Snapshots of a live stream: the frame as a PNG and what AlexNet made of it as JSON beside it.

The PNG is the frame as captured (no overlay), so a snapshot can become a training image; the
JSON holds the latest result, which may be for a frame a few frames older than the one saved
(results lag the camera by one classification): ``result_frame`` says which one it was. Both
files are written atomically, together or not at all, by :func:`export.write_atomically`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alexnet_gui import __version__
from alexnet_gui.messages import ClassifyResult
from alexnet_gui.ui.export import ExportError, encode_png, result_record, write_atomically
from alexnet_gui.ui.widgets.qimage import array_to_qimage

_MAX_SAME_NAME = 1000


@dataclass(frozen=True, eq=False)
class SnapshotFrame:
    """The frame to save and where it came from."""

    rgb: np.ndarray
    source: str  # "Camera 0" or "clip.avi"
    index: int  # frames read from the source since it started
    result_frame: int | None = None  # the frame index the result was computed on, if known


def snapshot_paths(folder: Path, *, now: float | None = None) -> tuple[Path, Path]:
    """``snapshot-20240131-142501-123.png`` and its ``.json``, numbered if the name is taken."""
    now = time.time() if now is None else now
    millis = int(now % 1 * 1000)
    stem = f"snapshot-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{millis:03d}"
    for number in range(1, _MAX_SAME_NAME):
        name = stem if number == 1 else f"{stem}-{number}"
        png, record = folder / f"{name}.png", folder / f"{name}.json"
        if not png.exists() and not record.exists():
            return png, record
    raise ExportError(f"Too many snapshots named {stem} in {folder}.")


def save_snapshot(frame: SnapshotFrame, result: ClassifyResult | None,
                  folder: Path) -> tuple[Path, Path]:
    """Write the PNG and the JSON into ``folder``; both or neither (raises ``ExportError``)."""
    png, record_path = snapshot_paths(folder)
    if result is not None:
        record = result_record(result, png.name)
    else:
        record = {"app": f"alexnet-gui {__version__}", "image": png.name, "predictions": [],
                  "model": None}
    record.update(
        kind="snapshot",
        source=frame.source,
        frame=frame.index,
        result_frame=frame.result_frame,
        width=int(frame.rgb.shape[1]),
        height=int(frame.rgb.shape[0]),
    )
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    write_atomically({png: encode_png(array_to_qimage(frame.rgb)),
                      record_path: text.encode("utf-8")})
    return png, record_path
