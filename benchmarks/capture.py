"""Capture benchmark: a 30 fps source through CaptureWorker for N seconds.

Reports what the capture thread read (fps, intervals between reads) and what reached the GUI
thread (fps, intervals, capture-to-GUI latency, frames dropped by the newest-wins mailbox).
Without ``--source`` a synthetic clip at ``--fps`` is written to a temporary folder and looped,
so the figures say how steadily a paced file reaches the GUI. ``--gui-load-ms`` makes every
frame cost the GUI thread that long, to show that a slow GUI drops frames instead of lagging.

    .venv/bin/python benchmarks/capture.py --seconds 5
    .venv/bin/python benchmarks/capture.py --source 0 --json    # a real webcam

``measure_capture()`` is importable for the live benchmark.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PyQt5.QtCore import QCoreApplication, QEventLoop, QTimer

from alexnet_gui.workers.capture_worker import CapturedFrame, CaptureWorker


@dataclass(frozen=True)
class IntervalStats:
    """Milliseconds between consecutive frames."""

    mean_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    stdev_ms: float

    @classmethod
    def of(cls, times: list[float]) -> IntervalStats:
        gaps = np.diff(np.asarray(times)) * 1000.0
        if gaps.size == 0:
            return cls(*(float("nan"),) * 5)
        return cls(
            mean_ms=float(gaps.mean()),
            p50_ms=float(np.percentile(gaps, 50)),
            p95_ms=float(np.percentile(gaps, 95)),
            max_ms=float(gaps.max()),
            stdev_ms=float(gaps.std()),
        )


@dataclass(frozen=True)
class CaptureStats:
    """One run of ``measure_capture``; ``as_dict()`` for JSON."""

    source: str
    nominal_fps: float | None
    seconds: float
    frames_read: int
    frames_delivered: int
    frames_dropped: int
    capture_fps: float  # the worker's own fps_measured, median of its reports
    delivered_fps: float
    delivered_intervals: IntervalStats  # between capture timestamps of delivered frames
    gui_latency_p50_ms: float  # capture timestamp to the GUI slot
    gui_latency_p95_ms: float
    failure: str

    def as_dict(self) -> dict[str, object]:
        """Plain values, with NaN (nothing measured) as ``None`` so the JSON is strict."""
        return _no_nan(asdict(self))


def _no_nan(value: object) -> object:
    if isinstance(value, dict):
        return {key: _no_nan(item) for key, item in value.items()}
    return None if isinstance(value, float) and value != value else value


def synthetic_clip(folder: Path, *, fps: float, frames: int = 90) -> Path:
    """A 320x240 MJPG clip with a bar sweeping across, ``frames`` long at ``fps``."""
    path = folder / f"bench-{fps:g}fps.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (320, 240))
    for index in range(frames):
        frame = np.full((240, 320, 3), (40, 90, 160), np.uint8)
        x = (index * 7) % 300
        frame[:, x : x + 20] = (250, 250, 250)
        writer.write(frame)
    writer.release()
    return path


def measure_capture(
    target: int | str | Path,
    seconds: float,
    *,
    loop: bool = True,
    gui_load_ms: float = 0.0,
) -> CaptureStats:
    """Stream ``target`` for ``seconds`` with a Qt event loop running; needs a QCoreApplication."""
    worker = CaptureWorker()
    arrivals: list[float] = []
    frames: list[CapturedFrame] = []
    rates: list[float] = []
    info: list[object] = []
    failure: list[str] = []
    loop_ = QEventLoop()

    def on_frame(frame: CapturedFrame) -> None:
        arrivals.append(time.perf_counter())
        frames.append(frame)
        if gui_load_ms:
            time.sleep(gui_load_ms / 1000.0)

    worker.frame_captured.connect(on_frame)
    worker.fps_measured.connect(rates.append)
    worker.stream_started.connect(info.append)
    worker.stream_failed.connect(failure.append)
    worker.stream_failed.connect(loop_.quit)
    worker.stream_finished.connect(loop_.quit)
    QTimer.singleShot(int(seconds * 1000), loop_.quit)
    started = time.perf_counter()
    worker.start(target, loop=loop)
    loop_.exec_()
    elapsed = time.perf_counter() - started
    dropped = worker.dropped_frames
    if not worker.shutdown():
        raise RuntimeError("capture thread did not stop")

    latencies = [(a - f.timestamp) * 1000.0 for a, f in zip(arrivals, frames, strict=True)]
    span = frames[-1].timestamp - frames[0].timestamp if len(frames) > 1 else 0.0
    return CaptureStats(
        source=str(target),
        nominal_fps=getattr(info[0], "fps", None) if info else None,
        seconds=round(elapsed, 3),
        frames_read=frames[-1].index + 1 if frames else 0,
        frames_delivered=len(frames),
        frames_dropped=dropped,
        capture_fps=statistics.median(rates) if rates else float("nan"),
        delivered_fps=(len(frames) - 1) / span if span else float("nan"),
        delivered_intervals=IntervalStats.of([f.timestamp for f in frames]),
        gui_latency_p50_ms=float(np.percentile(latencies, 50)) if latencies else float("nan"),
        gui_latency_p95_ms=float(np.percentile(latencies, 95)) if latencies else float("nan"),
        failure=failure[0] if failure else "",
    )


def _print_table(stats: CaptureStats) -> None:
    rows = [
        ("source", stats.source),
        ("nominal fps", f"{stats.nominal_fps}"),
        ("seconds", f"{stats.seconds:.2f}"),
        (
            "frames read / delivered / dropped",
            f"{stats.frames_read} / {stats.frames_delivered} / {stats.frames_dropped}",
        ),
        ("capture fps (worker's fps_measured)", f"{stats.capture_fps:.2f}"),
        ("delivered fps", f"{stats.delivered_fps:.2f}"),
    ]
    gaps = stats.delivered_intervals
    rows += [
        (f"interval {name} (ms)", f"{getattr(gaps, name + '_ms'):.2f}")
        for name in ("mean", "p50", "p95", "max", "stdev")
    ]
    rows += [
        (
            "capture->GUI latency p50 / p95 (ms)",
            f"{stats.gui_latency_p50_ms:.2f} / {stats.gui_latency_p95_ms:.2f}",
        ),
    ]
    if stats.failure:
        rows.append(("failure", stats.failure))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--fps", type=float, default=30.0, help="rate of the synthetic clip")
    parser.add_argument("--source", help="a camera index or a video file instead of the clip")
    parser.add_argument("--gui-load-ms", type=float, default=0.0, help="GUI work per frame")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        if args.source is None:
            target: int | str = str(synthetic_clip(Path(folder), fps=args.fps))
        else:
            target = int(args.source) if args.source.isdigit() else args.source
        stats = measure_capture(target, args.seconds, gui_load_ms=args.gui_load_ms)
    del app
    if args.json:
        print(json.dumps(stats.as_dict(), allow_nan=False))
    else:
        _print_table(stats)
    return 1 if stats.failure else 0


if __name__ == "__main__":
    sys.exit(main())
