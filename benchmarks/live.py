"""Live benchmark: a 30 fps video through the real window, capture thread and inference worker.

A generated 640x480 clip (MJPG, looped, paced at its own rate by the capture thread) is played
with File > Open Video's code path in the real ``MainWindow`` (offscreen), whose
``InferenceClient`` runs a random-initialised torchvision AlexNet. After a warm-up, it measures
for ``--seconds``:

- frames read by the capture thread, delivered to the GUI thread and painted, and how many of
  the painted frames carried a top-5 overlay;
- results shown per second (classified fps) and the capture-to-overlay latency (a frame's
  ``CapturedFrame.timestamp`` to the end of the first paint that shows its result), p50/p95/max;
- the GUI event loop's longest stall: a ``QTimer`` fires every 5 ms and the largest gap between
  two firings is kept (a gap of 5 ms is no stall);
- resident memory at the start of the window and at its end.

    .venv/bin/python benchmarks/live.py                    # 20 s, CPU, prints a table
    .venv/bin/python benchmarks/live.py --seconds 5 --profile   # plus where the GUI thread spends
    .venv/bin/python benchmarks/live.py --model stub        # the pipeline alone, no AlexNet
    .venv/bin/python benchmarks/live.py --device cuda --json

``--model stub`` swaps AlexNet for a one-convolution model with the same preprocessing, so the
figures show what capture, painting, the queues and decoding cost without the forward pass.
The figures depend on the machine and on what else runs on it: the load average is printed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5.QtCore import QEventLoop, Qt, QTimer

if TYPE_CHECKING:
    from alexnet_gui.app import Gui

STALL_TICK_MS = 5
_WORKER_THREADS: list[int] = []  # torch's intra-op threads as the inference worker sees them


@dataclass(frozen=True)
class LiveStats:
    """One run; ``asdict()`` for JSON."""

    seconds: float
    model: str
    device: str
    torch_threads: int
    load_average: str  # 1-minute load average at the start and the end: other programs count
    nominal_fps: float
    capture_fps: float  # the capture thread's own fps_measured, median
    frames_read: int
    frames_delivered: int
    frames_painted: int
    frames_painted_with_overlay: int
    results_shown: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    classify_p50_ms: float  # preprocessing and forward pass, as the worker reports them
    stall_max_ms: float
    stalls_over_20ms: int
    rss_start_mb: float
    rss_end_mb: float


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc; NaN elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_clip(path: Path, *, fps: float, size: tuple[int, int], frames: int) -> Path:
    """A clip with some texture (a gradient, a moving disc and bar) so MJPG frames are not tiny."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([xs * 255 // width, ys * 255 // height, (xs + ys) * 255 // (width + height)],
                    axis=-1).astype(np.uint8)
    for index in range(frames):
        frame = base.copy()
        x = (index * 9) % (width - 60)
        frame[:, x : x + 40] = (240, 240, 240)
        cv2.circle(frame, (width // 2, 60 + (index * 5) % (height - 120)), 50, (30, 60, 220), -1)
        writer.write(frame)
    writer.release()
    return path


def random_loader(weights: object, device: str):
    """A torchvision AlexNet with random weights, described as the ImageNet model."""
    import torch
    from torchvision.models import alexnet

    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec

    _WORKER_THREADS.append(torch.get_num_threads())  # per thread: read it where it is used
    torch.manual_seed(0)
    return Classifier(LoadedModel(alexnet(weights=None).eval(), imagenet_spec()), device=device)


def stub_loader(weights: object, device: str):
    """One strided convolution in AlexNet's shape (features, avgpool, classifier), 1000 classes."""
    import torch
    from torch import nn

    from alexnet_gui.core.inference.classifier import Classifier
    from alexnet_gui.core.models.weights import LoadedModel, imagenet_spec

    class Stub(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3, stride=8), nn.ReLU())
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(8, 1000))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    _WORKER_THREADS.append(torch.get_num_threads())
    return Classifier(LoadedModel(Stub().eval(), imagenet_spec()), device=device)


def wait_until(condition, timeout_s: float) -> None:
    from PyQt5.QtWidgets import QApplication

    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("timed out waiting for the pipeline")
        QApplication.processEvents(QEventLoop.AllEvents, 20)
        time.sleep(0.002)


def start_window(folder: Path, loader: object, capture: object, *, device: str) -> Gui:
    """The real main window, shown, looping video, with its model loaded (live and soak runs)."""
    from alexnet_gui.app import build_gui
    from alexnet_gui.settings import open_store

    gui = build_gui(store=open_store(folder / "settings.ini"), loader=loader,
                                capture=capture)
    gui.session.update_settings(device=device, loop_video=True)
    gui.window.resize(1200, 800)
    gui.window.show()
    loaded: list[object] = []
    gui.session.inference.model_loaded.connect(loaded.append)
    gui.session.inference.model_failed.connect(loaded.append)
    gui.start()
    wait_until(lambda: bool(loaded), 120)
    if not hasattr(loaded[0], "info"):
        raise SystemExit(f"the model did not load: {loaded[0]}")
    return gui


def run(args: argparse.Namespace, folder: Path) -> tuple[LiveStats, str]:
    from PyQt5.QtWidgets import QApplication

    from alexnet_gui.app import create_application
    from alexnet_gui.workers.capture_client import CaptureClient

    clip = write_clip(folder / "live.avi", fps=args.fps, size=args.size, frames=90)
    app = create_application([sys.argv[0]])
    loader = stub_loader if args.model == "stub" else random_loader
    capture = CaptureClient()
    gui = start_window(folder, loader, capture, device=args.device)
    live = gui.live
    live.play_video(clip)
    wait_until(lambda: live.meter.counters.frames_painted_with_overlay > 0, 60)
    deadline = time.perf_counter() + args.warmup
    while time.perf_counter() < deadline:
        app.processEvents(QEventLoop.AllEvents, 20)

    frames: list[int] = []  # indices only: keeping the frames would look like a leak in RSS
    latencies: list[float] = []
    inference: list[float] = []
    rates: list[float] = []
    ticks: list[float] = []
    capture.frame_captured.connect(lambda frame: frames.append(frame.index))
    live.latency_measured.connect(latencies.append)
    capture.fps_measured.connect(rates.append)
    gui.session.result_shown.connect(
        lambda result: result.prediction and inference.append(result.prediction.elapsed_ms))
    timer = QTimer()
    timer.setTimerType(Qt.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    before = LiveCountersSnapshot.of(live.meter.counters)
    rss_start = rss_mb()
    profiler = cProfile.Profile() if args.profile else None
    load_start = os.getloadavg()[0]
    loop = QEventLoop()
    end = QTimer()  # precise: a coarse single shot may fire 5 % early
    end.setSingleShot(True)
    end.setTimerType(Qt.PreciseTimer)
    end.timeout.connect(loop.quit)
    end.start(int(args.seconds * 1000))
    timer.start(STALL_TICK_MS)
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    loop.exec_()
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - started
    timer.stop()
    rss_end = rss_mb()
    after = LiveCountersSnapshot.of(live.meter.counters)
    gui.window.close()  # stops and joins the capture, probe and inference threads
    QApplication.processEvents()

    gaps = np.diff(np.asarray(ticks)) * 1000.0 if len(ticks) > 1 else np.asarray([np.nan])
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    stats = LiveStats(
        seconds=round(elapsed, 2),
        model=args.model,
        device=args.device,
        torch_threads=_WORKER_THREADS[-1],
        load_average=f"{load_start:.1f} -> {os.getloadavg()[0]:.1f}",
        nominal_fps=args.fps,
        capture_fps=statistics.median(rates) if rates else float("nan"),
        frames_read=(frames[-1] - frames[0] + 1) if frames else 0,
        frames_delivered=len(frames),
        frames_painted=after.painted - before.painted,
        frames_painted_with_overlay=after.overlaid - before.overlaid,
        results_shown=after.results - before.results,
        latency_p50_ms=float(np.percentile(lat, 50)),
        latency_p95_ms=float(np.percentile(lat, 95)),
        latency_max_ms=float(lat.max()),
        classify_p50_ms=statistics.median(inference) if inference else float("nan"),
        stall_max_ms=float(gaps.max()),
        stalls_over_20ms=int((gaps > 20.0).sum()),
        rss_start_mb=rss_start,
        rss_end_mb=rss_end,
    )
    return stats, _profile_text(profiler) if profiler is not None else ""


@dataclass(frozen=True)
class LiveCountersSnapshot:
    painted: int
    overlaid: int
    results: int

    @classmethod
    def of(cls, counters) -> LiveCountersSnapshot:
        return cls(counters.frames_painted, counters.frames_painted_with_overlay,
                   counters.results_shown)


def _profile_text(profiler: cProfile.Profile) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    return out.getvalue()


def print_table(stats: LiveStats) -> None:
    s = stats
    rows = [
        ("measured for", f"{s.seconds:.1f} s ({s.model} on {s.device}, torch threads "
                         f"{s.torch_threads}, load average {s.load_average})"),
        ("capture fps (capture thread)", f"{s.capture_fps:.1f} of {s.nominal_fps:g}"),
        ("frames read / delivered / painted", f"{s.frames_read} / {s.frames_delivered} / "
                                              f"{s.frames_painted}"),
        ("painted fps", f"{s.frames_painted / s.seconds:.1f}"),
        ("painted with an overlay", f"{s.frames_painted_with_overlay} "
                                    f"({s.frames_painted_with_overlay / s.seconds:.1f} fps)"),
        ("classified fps (results shown)", f"{s.results_shown / s.seconds:.1f}"),
        ("preprocess + forward p50 (worker)", f"{s.classify_p50_ms:.1f} ms"),
        ("capture-to-overlay p50 / p95 / max", f"{s.latency_p50_ms:.1f} / {s.latency_p95_ms:.1f} "
                                               f"/ {s.latency_max_ms:.1f} ms"),
        ("longest GUI stall (5 ms timer)", f"{s.stall_max_ms:.1f} ms "
                                           f"({s.stalls_over_20ms} gaps over 20 ms)"),
        ("RSS start / end", f"{s.rss_start_mb:.0f} / {s.rss_end_mb:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--size", type=lambda text: tuple(int(v) for v in text.split("x")),
                        default=(640, 480), help="WIDTHxHEIGHT of the generated clip")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    parser.add_argument("--model", choices=("alexnet", "stub"), default="alexnet",
                        help="random AlexNet, or a one-layer stub to time the pipeline alone")
    parser.add_argument("--profile", action="store_true",
                        help="also print where the GUI thread spent its time (cProfile)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        stats, profile = run(args, Path(folder))
    if args.json:
        print(json.dumps({k: (None if v != v else v) for k, v in asdict(stats).items()}))
    else:
        print_table(stats)
    if profile:
        print("\nGUI thread, by own time:\n" + profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
