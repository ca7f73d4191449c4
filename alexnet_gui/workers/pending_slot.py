"""The newest request wins: a one-slot buffer between the GUI thread and the inference worker.

A camera delivers frames faster than a CPU classifies them; queueing them would show ever older
results. Each put replaces what is waiting, and the worker takes only the newest.
"""

from __future__ import annotations

import threading

from alexnet_gui.messages import ClassifyRequest


class PendingSlot:
    """A one-slot buffer: the GUI thread puts, the worker takes, and a put replaces."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._request: ClassifyRequest | None = None
        self.superseded = 0

    def put(self, request: ClassifyRequest) -> None:
        with self._lock:
            if self._request is not None:
                self.superseded += 1
            self._request = request

    def take(self) -> ClassifyRequest | None:
        with self._lock:
            request, self._request = self._request, None
            return request

    def waiting(self) -> bool:
        with self._lock:
            return self._request is not None
