"""Counting and timing one live stream: frames painted, results shown, capture-to-overlay latency.

Qt-free bookkeeping, fed by :class:`~alexnet_gui.ui.live.LiveController` from its slots, so the
figures the status bar shows are the ones the tests and ``benchmarks/live.py`` read.
"""

from __future__ import annotations

import statistics
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from alexnet_gui.core.imaging.pacing import FpsMeter

_TRACKED_REQUESTS = 64  # frames submitted and not yet answered; older ones were superseded
_LATENCY_WINDOW = 60  # results whose latencies the median covers (two seconds at 30 fps)


@dataclass
class LiveCounters:
    """What one stream did so far."""

    frames_shown: int = 0  # frames handed to the picture
    frames_painted: int = 0  # paints that showed a new frame
    frames_painted_with_overlay: int = 0  # ... with a result's top-k on it
    results_shown: int = 0  # results for this stream's frames


class LiveMeter:
    """Matches results to the frames they were made from, and paints to the results they show.

    One per stream: a new stream starts a new meter, so nothing of the old one is counted.

    Latency runs from a frame's capture (``CapturedFrame.timestamp``, ``time.perf_counter``) to
    the end of the first paint after its result was set: the moment the user can see it.
    """

    def __init__(self) -> None:
        self.counters = LiveCounters()
        self.capture_fps: float | None = None
        self.classified_fps: float | None = None
        # request id -> (capture time, frame index); not the frame: 1 MB each at 640x480
        self._submitted: OrderedDict[int, tuple[float, int]] = OrderedDict()
        self._paint_due: float | None = None  # capture time of a result set but not yet painted
        self._new_frame = False
        self._classified = FpsMeter()
        self._latencies: deque[float] = deque(maxlen=_LATENCY_WINDOW)

    @property
    def latencies(self) -> list[float]:
        """The last capture-to-overlay latencies, in milliseconds."""
        return list(self._latencies)

    def median_latency(self) -> float | None:
        return statistics.median(self._latencies) if self._latencies else None

    def frame_shown(self, request_id: int, timestamp: float, index: int) -> None:
        """A frame was handed to the picture and submitted as ``request_id``."""
        self.counters.frames_shown += 1
        self._new_frame = True
        self._submitted[request_id] = (timestamp, index)
        while len(self._submitted) > _TRACKED_REQUESTS:
            self._submitted.popitem(last=False)

    def result_shown(self, request_id: int) -> int | None:
        """A result was set on the picture; the index of its frame, ``None`` if not this stream's.

        Frames submitted before it will never be answered (newest wins), so they are forgotten.
        """
        submitted = self._submitted.get(request_id)
        if submitted is None:
            return None
        while self._submitted and next(iter(self._submitted)) <= request_id:
            self._submitted.popitem(last=False)
        self._paint_due, index = submitted
        self.counters.results_shown += 1
        rate = self._classified.tick(time.perf_counter())
        if rate is not None:
            self.classified_fps = rate
        return index

    def painted(self, *, with_overlay: bool) -> float | None:
        """The picture was painted; the latency in ms if this paint showed a new result."""
        if self._new_frame:
            self._new_frame = False
            self.counters.frames_painted += 1
            self.counters.frames_painted_with_overlay += with_overlay
        captured, self._paint_due = self._paint_due, None
        if captured is None:
            return None
        latency = (time.perf_counter() - captured) * 1000.0
        self._latencies.append(latency)
        return latency

    def forget_pending(self) -> None:
        """The picture is no longer the stream's: a result still to paint is not the stream's."""
        self._paint_due = None
