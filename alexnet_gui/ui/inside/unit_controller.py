"""Runs the unit view's background jobs: the top 9 of a folder and the optimised image.

Both follow the selected unit. Once a folder is chosen, selecting another unit finds its top 9 at
once (the folder's index for the layer is on disk, so only the first unit of a layer costs the
indexing); the optimised image of a unit is looked up in the cache while its page is shown, and
computed on "Optimise". A job started for a unit that is no longer selected is not shown; when it
ends, the one for the unit selected now starts. New weights refresh both, for the same unit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QObject, pyqtSlot
from PyQt5.QtWidgets import QWidget

from alexnet_gui.ui import dialogs
from alexnet_gui.ui.inside.unit_view import JobPage, UnitView
from alexnet_gui.ui.session import Session

if TYPE_CHECKING:
    from alexnet_gui.workers.jobs import Job

#: ``(folder, layer, unit, *, weights, device) -> job``: workers.unit_jobs.TopPatchesJob.
TopJobFactory = Callable[..., "Job"]
#: ``(layer, unit, *, weights, device, steps, cache_only) -> job``: unit_jobs.make_maximise_job.
MaximiseJobFactory = Callable[..., "Job"]


class UnitController(QObject):
    """Connects the unit view's Top 9 and Optimised pages to their jobs."""

    def __init__(self, session: Session, *, view: UnitView, make_top: TopJobFactory,
                 make_maximise: MaximiseJobFactory, dialog_parent: QWidget) -> None:
        super().__init__(session)
        self._session, self._view, self._parent = session, view, dialog_parent
        self._make_top, self._make_maximise = make_top, make_maximise
        self.folder: Path | None = None
        self.top_job: Job | None = None
        self.maximise_job: Job | None = None
        self._top_for: tuple[str, int] | None = None
        self._maximise_for: tuple[str, int, int] | None = None
        view.folder_button.clicked.connect(self._on_folder_clicked)
        view.top9.run_clicked.connect(self._on_top_run_clicked)
        view.top9.cancel_clicked.connect(self._on_top_cancel_clicked)
        view.optimised.run_clicked.connect(self._on_optimise_run_clicked)
        view.optimised.cancel_clicked.connect(self._on_optimise_cancel_clicked)
        view.unit_changed.connect(self._on_view_unit_changed)
        view.page_changed.connect(self._on_view_page_changed)
        # after the session's own slot (connected first), which records the new weights
        session.inference.model_loaded.connect(self._on_inference_model_loaded)

    def _job_args(self) -> dict[str, Any]:
        weights = self._session.settings.last_model
        return {"weights": Path(weights) if weights else None,
                "device": self._session.settings.device}

    def choose_folder(self) -> bool:
        here = str(self.folder or self._session.start_dir())
        folder = dialogs.choose_folder(self._parent, "Find the unit's top 9 in which folder?",
                                       here)
        if folder is None:
            return False
        self.folder = folder
        return True

    def find_top(self) -> None:
        """The selected unit's top 9 in the chosen folder; waits for a running search."""
        if self.folder is None or self.top_job is not None:
            return
        layer, unit = self._view.selected
        job = self._make_top(self.folder, layer, unit, **self._job_args())
        self._top_for = (layer, unit)
        self._start(job, self._view.top9, self._on_top_completed, self._on_top_ended)
        self.top_job = job
        self._view.top9.say(f"Searching {self.folder.name} for {layer} unit {unit}…")

    def optimise(self, *, cache_only: bool = False) -> None:
        """The selected unit's optimised image from the cache, or computed (not ``cache_only``)."""
        if self.maximise_job is not None:
            return
        layer, unit = self._view.selected
        steps = self._view.steps.value()
        job = self._make_maximise(layer, unit, steps=steps, cache_only=cache_only,
                                  **self._job_args())
        self._maximise_for = (layer, unit, steps)
        self._start(job, self._view.optimised, self._on_maximise_completed,
                    self._on_maximise_ended)
        self.maximise_job = job

    def _start(self, job: Job, page: JobPage, completed: Callable[[object], None],
               ended: Callable[[], None]) -> None:
        job.stage_changed.connect(page.say)  # type: ignore[attr-defined]
        job.progressed.connect(page.show_progress)
        job.completed.connect(completed)
        job.failed.connect(page.say_error)
        job.ended.connect(ended)
        page.set_running(True)
        self._session.jobs.start(job)

    @pyqtSlot()
    def _on_folder_clicked(self) -> None:
        if self.choose_folder():
            self.find_top()

    @pyqtSlot()
    def _on_top_run_clicked(self) -> None:
        if self.folder is not None or self.choose_folder():
            self.find_top()

    @pyqtSlot()
    def _on_top_cancel_clicked(self) -> None:
        if self.top_job is not None:
            self.top_job.cancel()
            self._view.top9.say("Cancelling… (what is indexed so far is kept)")

    @pyqtSlot()
    def _on_optimise_run_clicked(self) -> None:
        self.optimise()

    @pyqtSlot()
    def _on_optimise_cancel_clicked(self) -> None:
        if self.maximise_job is not None:
            self.maximise_job.cancel()
            self._view.optimised.say("Cancelling…")

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, _status: object) -> None:
        self._on_view_unit_changed()  # other weights: other patches, another optimised image

    @pyqtSlot()
    def _on_view_unit_changed(self) -> None:
        self._view.top9.view.set_array(None)
        self._view.optimised.view.set_array(None)
        self._view.top9.say("")
        self._view.optimised.say("")
        self.find_top()
        self._look_up_optimised()

    def _look_up_optimised(self) -> None:
        """Show the cached optimised image, if its page is on screen and shows none yet."""
        page = self._view.optimised
        if self._view.isVisible() and self._view.pages.currentWidget() is page and (
                page.view.array is None):
            self.optimise(cache_only=True)

    @pyqtSlot()
    def _on_view_page_changed(self) -> None:
        self._look_up_optimised()

    def _on_top_completed(self, result: Any) -> None:
        if (result.layer, result.unit) != self._view.selected:
            return
        self._view.top9.view.set_array(result.grid)
        size = "whole images" if result.field_size is None else f"{result.field_size} px patches"
        self._view.top9.say(f"Best of {result.indexed} images ({result.computed} new), "
                            f"{size}; hover for names.")
        self._view.top9.view.setToolTip("\n".join(  # best first, row by row
            f"{i + 1}. {p.path.name}: {p.value:.4g}" for i, p in enumerate(result.patches)))

    def _on_top_ended(self) -> None:
        self.top_job = None
        self._view.top9.set_running(False)
        if self._top_for != self._view.selected:
            self.find_top()  # the unit changed while this one ran

    def _on_maximise_completed(self, result: Any) -> None:
        if result is None:
            self._view.optimised.say("Not computed yet for this unit: press Optimise.")
            return
        if (result.layer, result.unit) != self._view.selected:
            return
        self._view.optimised.view.set_array(result.image)
        where = " (cached)" if result.cached else ""
        value = "Value into the ReLU" if result.layer.startswith("relu") else "Activation"
        self._view.optimised.say(
            f"{value}: {result.start_activation:.3g} at the random start, "
            f"{result.final_activation:.3g} after {result.settings.steps} steps{where}.")

    def _on_maximise_ended(self) -> None:
        self.maximise_job = None
        self._view.optimised.set_running(False)
        if self._maximise_for is not None and self._maximise_for[:2] != self._view.selected:
            self._look_up_optimised()
