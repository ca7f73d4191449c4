"""Connects the "Inside the network" panel to the session: its options ride on every request.

The panel asks for inspection only while its dock is visible, so a hidden panel costs the worker
nothing; while it is visible, each request carries the panel's :class:`InspectOptions` and each
result brings back the views drawn for exactly those options.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5.QtCore import QObject, pyqtSlot
from PyQt5.QtWidgets import QDockWidget

from alexnet_gui.messages import ClassifyResult, InsideViews, InspectOptions, ModelStatus
from alexnet_gui.ui.export import ExportPicture
from alexnet_gui.ui.inside.panel import InsidePanel
from alexnet_gui.ui.inside.slow_explain import ExplainJobFactory, SlowExplainer
from alexnet_gui.ui.session import SAVED_MS, Session
from alexnet_gui.ui.widgets.image_view import ImageView


class InsideController(QObject):
    """Connects the panel, its dock, the main picture and the session."""

    def __init__(self, session: Session, *, panel: InsidePanel, dock: QDockWidget,
                 view: ImageView, make_explain_job: ExplainJobFactory) -> None:
        super().__init__(session)
        self._session, self._panel, self._view = session, panel, view
        self._inspecting = False
        self._on_main: np.ndarray | None = None  # the overlay we put on the main picture
        panel.restore(tab=session.settings.inside_tab, layer=session.settings.inside_layer)
        for pixel_view in panel.pixel_views:
            pixel_view.save_folder = self._save_folder
            pixel_view.saved.connect(self._on_view_saved)
            pixel_view.save_failed.connect(session.post_message)
        panel.options_changed.connect(self._on_panel_options_changed)
        panel.main_overlay_changed.connect(self._on_panel_main_overlay_changed)
        panel.tabs.currentChanged.connect(self._on_tabs_current_changed)
        dock.visibilityChanged.connect(self._on_dock_visibility_changed)
        session.result_shown.connect(self._on_session_result_shown)
        session.inference.model_loaded.connect(self._on_inference_model_loaded)
        session.stream_moving_changed.connect(self._on_session_stream_moving_changed)
        # Score-CAM and occlusion: a job per still picture; after the slots above, so that it
        # sees the state they leave (the dock shown, the tab current, the new picture).
        self.slow = SlowExplainer(session, tab=panel.gradcam, options=panel.options,
                                  wanted=self._explaining, make_job=make_explain_job)
        self.slow.explanation_shown.connect(self._on_panel_main_overlay_changed)
        for changed in (dock.visibilityChanged, panel.tabs.currentChanged, panel.options_changed,
                        session.result_shown, session.stream_moving_changed):
            changed.connect(self.slow.refresh)
        session.add_export_pictures(self._export_pictures)

    def _explaining(self) -> bool:
        """Whether the Explain tab is on screen (its dock shown and the tab current)."""
        return self._inspecting and self._panel.tabs.currentWidget() is self._panel.gradcam

    def _export_pictures(self) -> list[ExportPicture]:
        """File > Export Result takes the explanation, or the unit's pictures, along while they
        are on screen."""
        if self._explaining():
            return self._panel.gradcam.export_pictures()
        features = self._panel.features
        if self._inspecting and self._panel.tabs.currentWidget() is features and (
                features.unit_shown()):
            return features.unit_view.export_pictures()
        return []

    @property
    def main_picture(self) -> np.ndarray | None:
        """The overlay this controller put on the main picture, if any."""
        return self._on_main

    def _save_folder(self) -> Path:
        folder = Path(self._session.settings.last_folder or Path.home())
        return folder if folder.is_dir() else Path.home()

    def _update_main_picture(self) -> None:
        """Put the current tab's overlay on a still picture, or take ours off again."""
        result = self._session.result
        if result is None or (self._view.showing_live and self._session.stream_moving):
            return  # moving frames are painted as they come; an overlay would flicker
        wanted = self._panel.main_overlay() if self._inspecting else None
        if wanted is self._on_main:
            return
        self._view.show_frame(result.image if wanted is None else wanted)
        self._on_main = wanted

    @pyqtSlot(bool)
    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible != self._inspecting:
            self._inspecting = visible
            # re-runs the current picture with views (or without, to save the worker's time)
            self._session.set_inspect(self._panel.options() if visible else None)
            self._update_main_picture()

    @pyqtSlot(object)
    def _on_session_result_shown(self, result: ClassifyResult) -> None:
        self._on_main = None  # the results view has just painted the plain picture
        if isinstance(result.views, InsideViews):
            self._panel.show_views(result.views)
            self._update_main_picture()
        elif result.views_pending:
            self._panel.show_pending("Loading the network for these views… (the top-5 came "
                                     "from the fast engine; the full network takes a few "
                                     "seconds after a start)")

    @pyqtSlot(object, bool)
    def _on_panel_options_changed(self, options: InspectOptions, rerun: bool) -> None:
        if options.layer != self._session.settings.inside_layer:
            self._session.update_settings(inside_layer=options.layer)
        if self._inspecting:  # live, a re-run takes the newest frame: no step back in time
            self._session.set_inspect(options, rerun=rerun)

    @pyqtSlot()
    def _on_panel_main_overlay_changed(self) -> None:
        self._update_main_picture()

    @pyqtSlot(bool)
    def _on_session_stream_moving_changed(self, moving: bool) -> None:
        if not moving:  # frozen or stopped: the last frame is a still picture now
            self._on_main = None
            self._update_main_picture()

    @pyqtSlot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        self._session.update_settings(inside_tab=index)

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, status: ModelStatus) -> None:
        self._panel.reset_for_model(status.info.categories)

    @pyqtSlot(str)
    def _on_view_saved(self, path: str) -> None:
        self._session.post_status(f"Saved {Path(path).name} in {Path(path).parent}", SAVED_MS)
