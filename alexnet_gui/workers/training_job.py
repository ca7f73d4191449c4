"""Training in the app: the same :func:`alexnet_gui.core.training.train` as the command line, on a
job thread of its own.

The job forwards the core's :class:`~alexnet_gui.core.training.state.TrainProgress` values as a
signal and passes :meth:`Job.is_cancelled` as the core's ``is_cancelled``, so Cancel stops the run
between two batches and the core saves ``OUT.last`` for resuming. It competes with the inference
worker for the CPU; both release the GIL inside torch, so the GUI thread stays free to paint.

Importing this module costs no torch: the core is imported in :meth:`TrainingJob.run`, on the
job's thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import pyqtSignal

from alexnet_gui.workers.jobs import Job

if TYPE_CHECKING:  # annotations only: importing them costs torch
    from alexnet_gui.core.training.state import TrainProgress, TrainResult

#: Batch reports forwarded per second at most; setup, epoch ends and last batches always pass.
REPORT_RATE = 20.0


class TrainingJob(Job):
    """Train as ``options`` say; ``completed`` gets the core's TrainResult (``cancelled`` set if
    Cancel stopped it), ``failed`` one line (a DatasetError, bad weights, an impossible size).

    ``options`` are :class:`~alexnet_gui.core.training.state.TrainConfig` fields by name: the
    dialog that collects them must not import the torch module that defines the class. The
    DataLoader always runs in this thread (``workers=0``): worker processes forked from a
    threaded Qt process are not safe.

    Signals:
        reported(TrainProgress): a step of the run, at most :data:`REPORT_RATE` a second for
            batches (a GPU finishes hundreds a second; a label cannot show them).
        progressed, completed, failed, ended: see :class:`~alexnet_gui.workers.jobs.Job`.
    """

    reported = pyqtSignal(object)

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__()
        self.options = dict(options)
        self._last_report = 0.0

    def run(self) -> TrainResult:
        from alexnet_gui.core.training.loop import TrainConfig, train

        config = TrainConfig(**{**self.options, "workers": 0})
        return train(config, on_progress=self._on_train_progress, is_cancelled=self.is_cancelled)

    def _on_train_progress(self, progress: TrainProgress) -> None:
        """Called by the core on this thread; forwards what a person can see."""
        now = time.monotonic()
        batch_step = progress.phase in ("train", "validate") and progress.batch < progress.batches
        if batch_step and now - self._last_report < 1.0 / REPORT_RATE:
            return
        self._last_report = now
        self.reported.emit(progress)
