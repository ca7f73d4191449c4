"""Timing helpers for live sources: play a file at its own rate, measure frames per second.

Kept apart from OpenCV so they can be tested with a fake clock.
"""

from __future__ import annotations

from collections import deque

DEFAULT_FPS = 30.0  # used to pace a file whose header gives no usable rate
_MAX_FPS = 240.0


def usable_fps(fps: float) -> float | None:
    """A frame rate from a file header, or None when it is missing or absurd."""
    return float(fps) if 1.0 <= fps <= _MAX_FPS else None


class FramePacer:
    """When the next frame of a file is due, so a clip plays at its own rate.

    A reader that falls more than a frame behind restarts the schedule from now instead of
    bursting through the backlog: late frames are shown late, not fast-forwarded.
    """

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / (usable_fps(fps) or DEFAULT_FPS)
        self._due: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait before reading the next frame; books that frame's slot."""
        if self._due is None or now - self._due > self.interval:
            self._due = now
        wait = max(0.0, self._due - now)
        self._due += self.interval
        return wait

    def reset(self) -> None:
        """Forget the schedule (after a pause) so playback resumes without a burst."""
        self._due = None


class FpsMeter:
    """Frames per second over the last ``period`` seconds, reported about once per period."""

    def __init__(self, period: float = 1.0) -> None:
        self.period = period
        self._times: deque[float] = deque()
        self._reported: float | None = None

    def tick(self, now: float) -> float | None:
        """Record a frame at ``now``; returns the rate when a report is due, else ``None``."""
        self._times.append(now)
        while now - self._times[0] > self.period:
            self._times.popleft()
        if self._reported is None:
            self._reported = now
        if now - self._reported < self.period or len(self._times) < 2:
            return None
        self._reported = now
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])
