"""Model > Export… in the background: the same export as ``alexnet-gui export``, on a job thread.

Converting AlexNet takes seconds (int8 longer: calibration on real images), so the window stays
usable meanwhile. The job loads its own copy of the weights from the file, like Find Similar:
the main worker's model is never touched. Importing this module costs no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import pyqtSignal

from alexnet_gui.workers.jobs import Job

if TYPE_CHECKING:
    from alexnet_gui.core.export.exporter import ExportReport


class ExportJob(Job):
    """Export ``weights`` (``None``: ImageNet) as ``fmt`` to ``out``; ``completed`` gets the
    :class:`~alexnet_gui.core.export.exporter.ExportReport`.

    Signals:
        stage_changed(str): what the job is doing, in a few words for a status line.
        progressed, completed, failed, ended: see :class:`~alexnet_gui.workers.jobs.Job`.
    """

    stage_changed = pyqtSignal(str)

    def __init__(self, weights: Path | None, fmt: str, out: Path | None, *,
                 int8: bool = False) -> None:
        super().__init__()
        self.weights, self.fmt, self.out, self.int8 = weights, fmt, out, int8

    def run(self) -> ExportReport:
        from alexnet_gui.core.export.exporter import export_model

        return export_model(self.weights, self.fmt, self.out, int8=self.int8,
                            progress=self._on_progress, is_cancelled=self.is_cancelled)

    def _on_progress(self, text: str, done: int, total: int) -> None:
        self.stage_changed.emit(text)
        self.report(done, total)
