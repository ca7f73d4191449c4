"""Soak test: 10,000 frames through the live pipeline, watching memory and threads.

A generated clip loops through the real pipeline, as File > Open Video plays it: the capture
thread (``CaptureClient``/``CaptureWorker``) reads and paces it, the offscreen ``MainWindow`` paints
every delivered frame and submits it to the ``InferenceClient``, whose worker classifies the
newest one. Every ``--sample-every`` delivered frames it records resident memory (RSS) and the
number of threads; at the end it prints the table, the RSS growth from the end of the warm-up
to the end (the goal is under 5 %), and the threads before the window, during the stream, at its
end and after the window closed (which must join every thread it started).

    .venv/bin/python benchmarks/soak.py                       # stub model, 30 fps: about 6 min
    .venv/bin/python benchmarks/soak.py --fast                # frames as fast as they are shown
    .venv/bin/python benchmarks/soak.py --model alexnet --fast   # a random-weight AlexNet
    .venv/bin/python benchmarks/soak.py --frames 2000 --json

``--model stub`` is ``benchmarks/live.py``'s one-convolution model with AlexNet's preprocessing:
the pipeline without the forward pass. ``--fast`` plays the clip at 240 fps (the most the pacer
allows) and lets the capture thread read the next frame only once the window has taken the last
one, so frames flow as fast as they are consumed and none is read only to be dropped.
Memory is Linux's ``/proc/self/statm``; threads are ``/proc/self/status``'s count (Python's,
Qt's and torch's together).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import live  # benchmarks/live.py: the clip, the models, rss_mb
from PyQt5.QtCore import QEventLoop, QTimer

GATE_TIMEOUT_S = 1.0  # the gate never holds the capture thread longer than this


@dataclass(frozen=True)
class Sample:
    frames: int  # delivered to the window so far
    seconds: float
    rss_mb: float
    threads: int


@dataclass
class SoakReport:
    """One run; ``asdict()`` for JSON."""

    model: str
    fast: bool
    frames: int
    seconds: float
    results_shown: int
    frames_dropped_by_capture: int
    stale_results_dropped: int
    messages_shown: int
    rss_after_warmup_mb: float
    rss_end_mb: float
    rss_growth_percent: float
    rss_max_mb: float
    threads_before_window: int
    threads_after_warmup: int
    threads_at_end: int
    threads_after_close: int
    qthreads_running_after_close: int
    threads_added_by_close: dict[str, int]  # by name: after close minus before the window
    samples: list[Sample] = field(default_factory=list)


def thread_count() -> int:
    """Threads of this process as the kernel counts them (Linux); Python's count elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


def thread_names() -> Counter[str]:
    """Threads by name (Linux ``/proc/self/task/*/comm``), to say which ones outlive a window."""
    names: Counter[str] = Counter()
    for comm in Path("/proc/self/task").glob("*/comm"):
        with contextlib.suppress(OSError):
            names[comm.read_text().strip()] += 1
    return names


def running_qthreads() -> int:
    from PyQt5.QtCore import QThread

    count = 0
    for obj in gc.get_objects():
        if issubclass(type(obj), QThread):  # type(): isinstance wakes torch's deprecations
            with contextlib.suppress(RuntimeError):  # its C++ side is gone
                count += bool(obj.isRunning())
    return count


class GatedCapture:
    """A ``cv2.VideoCapture`` whose ``read()`` waits until the window took the last frame."""

    def __init__(self, target: int | str, api: int, gate: threading.Event) -> None:
        import cv2

        self._inner = cv2.VideoCapture(target, api)
        self._gate = gate

    def read(self):
        self._gate.wait(GATE_TIMEOUT_S)
        self._gate.clear()
        return self._inner.read()

    def isOpened(self) -> bool:
        return self._inner.isOpened()

    def get(self, prop: int) -> float:
        return self._inner.get(prop)

    def set(self, prop: int, value: float) -> bool:
        return self._inner.set(prop, value)

    def getBackendName(self) -> str:
        return self._inner.getBackendName()

    def release(self) -> None:
        self._inner.release()


def run(args: argparse.Namespace, folder: Path) -> SoakReport:
    from alexnet_gui.app import create_application
    from alexnet_gui.workers.capture_client import CaptureClient

    fps = 240.0 if args.fast else args.fps
    clip = live.write_clip(folder / "soak.avi", fps=fps, size=args.size, frames=90)
    app = create_application([sys.argv[0]])
    threads_before, names_before = thread_count(), thread_names()
    gate = threading.Event()
    gate.set()
    factory = (lambda target, api: GatedCapture(target, api, gate)) if args.fast else None
    capture = CaptureClient(capture_factory=factory, probe=lambda in_use: [])
    loader = live.stub_loader if args.model == "stub" else live.random_loader
    gui = live.start_window(folder, loader, capture, device=args.device)

    delivered = [0]
    results = [0]
    samples: list[Sample] = []
    warm: dict[str, float] = {}
    loop = QEventLoop()
    started = time.perf_counter()

    def on_frame(_frame: object) -> None:
        gate.set()
        delivered[0] += 1
        count = delivered[0]
        if count == args.warmup_frames:
            gc.collect()
            warm.update(rss=live.rss_mb(), threads=thread_count())
        if count % args.sample_every == 0 or count == args.frames:
            samples.append(Sample(count, round(time.perf_counter() - started, 1), live.rss_mb(),
                                  thread_count()))
            if args.progress:
                s = samples[-1]
                print(f"{s.frames:>7} frames {s.seconds:>7.1f} s {s.rss_mb:8.1f} MB "
                      f"{s.threads:>3} threads", file=sys.stderr, flush=True)
        if count >= args.frames:
            QTimer.singleShot(0, loop.quit)

    capture.frame_captured.connect(on_frame)
    gui.session.result_shown.connect(lambda result: results.__setitem__(0, results[0] + 1))
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(args.max_seconds * 1000))
    gui.live.play_video(clip)
    loop.exec_()
    elapsed = time.perf_counter() - started
    gc.collect()
    rss_end, threads_end = live.rss_mb(), thread_count()
    dropped = capture._worker.dropped_frames if capture._worker is not None else 0
    stale = gui.session.inference.stale_dropped
    messages = gui.window.messages.count
    gui.window.close()  # stops and joins the capture, probe and inference threads
    app.processEvents()
    gc.collect()
    if delivered[0] < args.frames:
        print(f"soak: only {delivered[0]} frames in {args.max_seconds:g} s", file=sys.stderr)
    rss_warm = warm.get("rss", float("nan"))
    return SoakReport(
        model=args.model,
        fast=args.fast,
        frames=delivered[0],
        seconds=round(elapsed, 1),
        results_shown=results[0],
        frames_dropped_by_capture=dropped,
        stale_results_dropped=stale,
        messages_shown=messages,
        rss_after_warmup_mb=round(rss_warm, 1),
        rss_end_mb=round(rss_end, 1),
        rss_growth_percent=round((rss_end - rss_warm) / rss_warm * 100, 2),
        rss_max_mb=round(max(s.rss_mb for s in samples), 1) if samples else float("nan"),
        threads_before_window=threads_before,
        threads_after_warmup=int(warm.get("threads", -1)),
        threads_at_end=threads_end,
        threads_after_close=thread_count(),
        qthreads_running_after_close=running_qthreads(),
        threads_added_by_close=dict(thread_names() - names_before),
        samples=samples,
    )


def print_report(report: SoakReport) -> None:
    r = report
    mode = "as fast as consumed" if r.fast else "paced by the clip"
    print(f"soak: {r.frames} frames in {r.seconds:.0f} s ({r.frames / r.seconds:.1f} fps, {mode}),"
          f" model {r.model}; {r.results_shown} results shown")
    print(f"frames dropped by the capture mailbox {r.frames_dropped_by_capture}, stale results "
          f"dropped {r.stale_results_dropped}, messages shown {r.messages_shown}")
    print(f"{'frames':>8} {'seconds':>8} {'RSS MB':>8} {'threads':>8}")
    for s in r.samples:
        print(f"{s.frames:>8} {s.seconds:>8.1f} {s.rss_mb:>8.1f} {s.threads:>8}")
    verdict = "ok" if r.rss_growth_percent < 5 else "OVER the 5 % goal"
    print(f"RSS after warm-up {r.rss_after_warmup_mb:.1f} MB, at the end {r.rss_end_mb:.1f} MB: "
          f"{r.rss_growth_percent:+.2f} % ({verdict}); peak sample {r.rss_max_mb:.1f} MB")
    print(f"threads: before the window {r.threads_before_window}, after warm-up "
          f"{r.threads_after_warmup}, at the end {r.threads_at_end}, after close "
          f"{r.threads_after_close} (QThreads still running: {r.qthreads_running_after_close})")
    added = ", ".join(f"{name} x{n}" for name, n in sorted(r.threads_added_by_close.items()))
    print(f"threads left after close (thread pools, by name): {added or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000, help="frames to deliver")
    parser.add_argument("--warmup-frames", type=int, default=1000,
                        help="growth is measured from here to the end")
    parser.add_argument("--sample-every", type=int, default=500, metavar="N")
    parser.add_argument("--fps", type=float, default=30.0, help="the clip's rate without --fast")
    parser.add_argument("--fast", action="store_true",
                        help="feed frames as fast as the window consumes them")
    parser.add_argument("--size", type=lambda text: tuple(int(v) for v in text.split("x")),
                        default=(640, 480), help="WIDTHxHEIGHT of the generated clip")
    parser.add_argument("--model", choices=("stub", "alexnet"), default="stub")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="give up after this")
    parser.add_argument("--progress", action="store_true", help="print each sample as it comes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not 0 < args.warmup_frames < args.frames:
        parser.error("--warmup-frames must be between 0 and --frames")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as folder:
        report = run(args, Path(folder))
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        print_report(report)
    return 0 if report.frames >= args.frames and report.qthreads_running_after_close == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
