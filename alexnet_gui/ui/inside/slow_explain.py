"""Score-CAM and occlusion in the background: one job per still picture, stale answers dropped.

They take one forward pass per channel or patch (257 or 170 for the defaults), seconds on a
CPU, so they never run per frame or in the inference worker: on a still picture (a file, a
paste, a frozen or stopped stream) :class:`SlowExplainer` starts a job (``workers/explain_job``,
handed in by the composition root) that loads its own copy of the model and reports progress.
While a stream moves, the tab says how long the method would take and waits for Freeze. A job
is keyed by the picture, the model and the options it explains; when any of them changes, the
job is cancelled and whatever it still returns is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, pyqtSignal, pyqtSlot

from alexnet_gui.messages import InspectOptions
from alexnet_gui.ui.inside.explain_tab import SLOW_METHODS, ExplainTab
from alexnet_gui.ui.session import Session

if TYPE_CHECKING:
    from alexnet_gui.workers.explain_job import ExplainJob, ExplainResult

#: ``(source, options, *, weights, device, key) -> job``: workers.explain_job.ExplainJob.
ExplainJobFactory = Callable[..., "ExplainJob"]


class SlowExplainer(QObject):
    """Runs the Explain tab's slow method for the picture on screen, when it may and must.

    ``wanted()`` says whether the tab is on screen (the dock shown and the tab current).

    Signals:
        explanation_shown(): a job's explanation is now painted in the tab.
    """

    explanation_shown = pyqtSignal()

    def __init__(self, session: Session, *, tab: ExplainTab, options: Callable[[], InspectOptions],
                 wanted: Callable[[], bool], make_job: ExplainJobFactory) -> None:
        super().__init__(session)
        self._session, self._tab, self._options = session, tab, options
        self._wanted, self._make_job = wanted, make_job
        self.job: ExplainJob | None = None
        self._job_key: tuple[object, ...] | None = None
        self._shown_key: tuple[object, ...] | None = None
        self._stopped_key: tuple[object, ...] | None = None  # cancelled or failed: no retry
        self._measured: dict[str, float] = {}  # seconds the last run of each method took
        tab.run_clicked.connect(self._on_tab_run_clicked)
        tab.cancel_clicked.connect(self._on_tab_cancel_clicked)

    def key(self, options: InspectOptions) -> tuple[object, ...]:
        """What a slow explanation depends on: the picture, the model and the tab's choices."""
        return (self._session.source, self._session.load_seq, options.method,
                options.explain_layer, options.class_index, options.occlusion_patch,
                options.occlusion_stride)

    @pyqtSlot()
    def refresh(self) -> None:
        """Start, keep, cancel or drop the job to match what is on screen now."""
        options = self._options()
        if not self._wanted() or options.method not in SLOW_METHODS:
            self._stop()
            return
        key = self.key(options)
        if key != self._shown_key and self._tab.shown is not None:
            self._tab.show_explanation(None)  # an answer for another picture or choice
        if self._job_key is not None and self._job_key != key:
            self._stop()
        if self._session.stream_moving:
            self._tab.rate.setText(f"{self._tab.method_label} takes {self._duration(options)} "
                                   "here, too slow for moving video: press Freeze (Space) "
                                   "to run it on the frame.")
            return
        if key in (self._shown_key, self._job_key):
            return
        if key == self._stopped_key:
            self._tab.set_running(False)
            return
        self.start(options, key)

    def start(self, options: InspectOptions, key: tuple[object, ...]) -> None:
        source = self._session.source
        if source is None or self._session.model is None:
            self._tab.rate.setText("Open a picture: its explanation is worked out here.")
            return
        weights = self._session.settings.last_model
        job = self._make_job(source, options, weights=Path(weights) if weights else None,
                             device=self._session.settings.device, key=key)
        job.stage_changed.connect(self._on_job_stage_changed)
        job.progressed.connect(self._on_job_progressed)
        job.completed.connect(self._on_job_completed)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)
        self.job, self._job_key, self._stopped_key = job, key, None
        self._tab.set_running(True)
        self._tab.rate.setText(f"{self._tab.method_label}: about {self._duration(options)}…")
        self._session.jobs.start(job)

    def cancel(self) -> None:
        """Stop the running job (its answer, if any still comes, is dropped)."""
        if self.job is not None:
            self._stopped_key = self._job_key
            self.job.cancel()
            self._tab.rate.setText("Cancelled: press Run to explain this picture.")
        self._release()

    def _stop(self) -> None:
        """The slow method is no longer wanted here: cancel quietly."""
        if self.job is not None:
            self.job.cancel()
        self._release()

    def _release(self) -> None:
        """Forget the job: its signals may still come, and are ignored from now on."""
        job, self.job, self._job_key = self.job, None, None
        if job is not None:
            for signal in (job.stage_changed, job.progressed, job.completed, job.failed,
                           job.ended):
                signal.disconnect()
        self._tab.set_running(False)

    def _duration(self, options: InspectOptions) -> str:
        measured = self._measured.get(options.method)
        guess = measured if measured is not None else self._tab.estimate_s
        if guess is None:
            return "several seconds"
        how = "last time" if measured is not None else "estimated"
        return f"~{guess:.0f} s ({how})" if guess >= 1.5 else f"~{guess:.1f} s ({how})"

    @pyqtSlot()
    def _on_tab_run_clicked(self) -> None:
        self._stopped_key = None
        self._shown_key = None
        self.refresh()

    @pyqtSlot()
    def _on_tab_cancel_clicked(self) -> None:
        self.cancel()

    @pyqtSlot(str)
    def _on_job_stage_changed(self, text: str) -> None:
        self._tab.rate.setText(text)

    @pyqtSlot("qint64", "qint64")
    def _on_job_progressed(self, done: int, total: int) -> None:
        self._tab.show_progress(done, total)

    @pyqtSlot(object)
    def _on_job_completed(self, result: ExplainResult) -> None:
        if result.key != self.key(self._options()):
            return  # the picture or the choices changed meanwhile
        self._measured[result.view.explanation.method] = result.elapsed_s
        self._shown_key = result.key
        self._tab.show_explanation(result.view)
        self._tab.rate.setText(f"{self._tab.method_label} took {result.elapsed_s:.1f} s "
                               f"({result.passes} masked copies of the picture).")
        self.explanation_shown.emit()

    @pyqtSlot(str)
    def _on_job_failed(self, message: str) -> None:
        self._stopped_key = self._job_key
        self._tab.rate.setText(message)

    @pyqtSlot()
    def _on_job_ended(self) -> None:
        self._release()
