"""Browsing stills: open, drop, paste, Recent, a folder's table, Left/Right, and the exports.

Whatever is opened becomes a :class:`Collection`; its current image is sent to the main worker as
one request and the whole collection as one background batch, which fills the folder table.
"""

from __future__ import annotations

import functools
from pathlib import Path

from PyQt5.QtCore import QObject, pyqtSlot
from PyQt5.QtWidgets import QApplication, QWidget

from alexnet_gui.messages import (
    BatchFinished,
    BatchItem,
    BatchStarted,
    FileSource,
    ModelStatus,
    Source,
)
from alexnet_gui.settings import Settings
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.actions import Actions
from alexnet_gui.ui.browse.batch_panel import BatchPanel
from alexnet_gui.ui.browse.collection import PAGE, Collection, folder_images
from alexnet_gui.ui.browse.sources import clipboard_content
from alexnet_gui.ui.export import ExportError, export_csv, export_result
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.session import SAVED_MS, Session


class BrowseController(QObject):
    """The File and Go menus, paste and drop, and the folder table, over one collection.

    Args:
        session: the shared session.
        actions: the window's actions (File, Edit and Go menus are used here).
        batch: the folder table.
        dialog_parent: the widget file dialogs are centred on.
    """

    def __init__(self, session: Session, *, actions: Actions, batch: BatchPanel,
                 dialog_parent: QWidget) -> None:
        super().__init__(session)
        self._session, self._actions, self._batch = session, actions, batch
        self._parent = dialog_parent
        self.collection = Collection()
        self._batch_seq = 0
        self._show_when_listed = self._single_file = False
        self._connect()
        self.rebuild_recent_menu(session.settings)

    # -- opening ------------------------------------------------------------------------------

    def open_paths(self, paths: list[Path]) -> None:
        """Files and folders: show the first image, classify them all in the background."""
        if not paths:
            return
        self._session.image_opened.emit()
        settings = self._session.settings
        for path in reversed(paths[:10]):
            settings = settings.with_recent(path)
        folder = paths[0] if paths[0].is_dir() else paths[0].parent
        self._session.update_settings(recent_files=settings.recent_files, last_folder=str(folder))
        self._show_when_listed = True
        self._single_file = len(paths) == 1 and not paths[0].is_dir()
        first = paths if self._single_file else self._first_image_of(paths)
        if first:  # the picture at once, not after the worker (maybe still loading) lists them
            self.collection.set(first)
            self.show_current()
            self._show_when_listed = False
        self.start_batch(paths)

    @staticmethod
    def _first_image_of(paths: list[Path]) -> list[Path]:
        """The first image directly in a single opened folder (the worker lists the rest)."""
        if len(paths) != 1 or not paths[0].is_dir():
            return []
        return folder_images(paths[0])[:1]

    def on_content_dropped(self, content: list[Path] | Source | None) -> None:
        """The window's ``content_dropped``: :meth:`open_content`, its answer unused."""
        self.open_content(content)

    def open_content(self, content: list[Path] | Source | None) -> bool:
        """Open what a paste or a drop carried: files and folders, or one image; False if none."""
        if isinstance(content, list):
            self.open_paths(content)
        elif content is not None:
            self._session.image_opened.emit()
            self._session.submit_still(content)
        else:
            return False
        return True

    def paste(self) -> None:
        if not self.open_content(clipboard_content(present(QApplication.clipboard()).mimeData())):
            self._session.post_status("The clipboard holds no image and no image files.")

    def start_batch(self, paths: list[Path] | tuple[Path, ...]) -> None:
        self._batch_seq = self._session.load_seq
        self._session.inference.start_batch(tuple(paths), tta=self._session.settings.tta)

    def show_current(self) -> None:
        path = self.collection.current
        if path is not None:
            self._session.image_opened.emit()
            self._batch.select_row(self.collection.index)
            self._session.post_status(f"Classifying {path.name}…", 0)
            self._session.submit_still(FileSource(path))

    def navigate(self, step: int) -> None:
        """Left/Right and friends; with one file open, they browse that file's folder."""
        if self._single_file:
            self._single_file = False
            self._browse_folder_of(self.collection.current)
        if self.collection.move(step) is not None:
            self.show_current()

    def _browse_folder_of(self, path: Path | None) -> None:
        """Make the images beside ``path`` the collection (and the table), as image viewers do."""
        if path is None:
            return
        siblings = folder_images(path.parent)
        if path in siblings and len(siblings) > 1:
            self.collection.set(siblings, siblings.index(path))
            self.start_batch(siblings)

    def open_files_dialog(self) -> None:
        paths = dialogs.open_images(self._parent, self._session.start_dir())
        if paths:
            self.open_paths(paths)

    def open_folder_dialog(self) -> None:
        folder = dialogs.open_folder(self._parent, self._session.start_dir())
        if folder is not None:
            self.open_paths([folder])

    # -- exports and Recent -------------------------------------------------------------------

    def export_result(self) -> None:
        result = self._session.result
        if result is None:
            self._session.post_status("Nothing to export yet: open an image first.")
            return
        stem = Path(result.name).stem or "image"
        suggested = Path(self._session.start_dir()) / f"{stem}-alexnet.png"
        target = dialogs.save_result(self._parent, suggested)
        if target is None:
            return
        try:
            png, json_file = export_result(result, target, self._session.export_pictures())
        except ExportError as exc:
            self._session.post_message(str(exc))
            return
        self._session.post_status(f"Saved {png.name} and {json_file.name} in {png.parent}",
                                  SAVED_MS)

    def export_csv(self) -> None:
        rows = self._batch.csv_rows()
        if len(rows) <= 1:
            self._session.post_status("Nothing to export yet: open a folder first.")
            return
        suggested = Path(self._session.start_dir()) / "alexnet-results.csv"
        target = dialogs.save_csv(self._parent, suggested)
        if target is None:
            return
        try:
            export_csv(rows, target)
        except ExportError as exc:
            self._session.post_message(str(exc))
            return
        self._session.post_status(f"Saved {len(rows) - 1} rows to {target}", SAVED_MS)

    def rebuild_recent_menu(self, settings: Settings) -> None:
        menu = self._actions.menus["recent"]
        menu.clear()
        for text in settings.recent_files:
            action = present(menu.addAction(text))
            action.triggered.connect(functools.partial(self._open_recent, Path(text)))
        if settings.recent_files:
            menu.addSeparator()
        menu.addAction(self._actions.clear_recent)
        self._actions.clear_recent.setEnabled(bool(settings.recent_files))

    def _open_recent(self, path: Path) -> None:
        if path.exists():
            self.open_paths([path])
        else:
            self._session.post_message(f"{path} no longer exists.")

    # -- wiring -------------------------------------------------------------------------------

    def _connect(self) -> None:
        a, client, session = self._actions, self._session.inference, self._session
        for action, slot in (
            (a.open_files, self.open_files_dialog), (a.open_folder, self.open_folder_dialog),
            (a.export_result, self.export_result), (a.export_csv, self.export_csv),
            (a.paste, self.paste),
            (a.clear_recent, functools.partial(session.update_settings, recent_files=())),
        ):
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        for action, step in ((a.previous, -1), (a.next, 1), (a.page_up, -PAGE),
                             (a.page_down, PAGE), (a.first, -10**9), (a.last, 10**9)):
            action.triggered.connect(functools.partial(self.navigate, step))
        self._batch.row_selected.connect(self._on_batch_row_selected)
        self._batch.cancel_requested.connect(client.cancel_batch)
        self._batch.export_requested.connect(self.export_csv)
        session.open_requested.connect(self._on_session_open_requested)
        session.settings_changed.connect(self._on_session_settings_changed)
        client.model_loaded.connect(self._on_inference_model_loaded)
        client.batch_started.connect(self._on_inference_batch_started)
        client.batch_item_ready.connect(self._on_inference_batch_item_ready)
        client.batch_finished.connect(self._on_inference_batch_finished)

    @pyqtSlot(object)
    def _on_session_open_requested(self, paths: list[Path]) -> None:
        self.open_paths(paths)

    @pyqtSlot(object)
    def _on_session_settings_changed(self, settings: Settings) -> None:
        self.rebuild_recent_menu(settings)

    @pyqtSlot(int)
    def _on_batch_row_selected(self, row: int) -> None:
        if self.collection.go(row) is not None:
            self.show_current()

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, _status: ModelStatus) -> None:
        if len(self.collection) and self._session.is_stale(self._batch_seq):
            self.start_batch(self.collection.paths)  # the table shows the new model's classes

    @pyqtSlot(object)
    def _on_inference_batch_started(self, started: BatchStarted) -> None:
        current = self.collection.current
        index = started.paths.index(current) if current in started.paths else 0
        self.collection.set(started.paths, index)
        self._batch.set_paths(started.paths, running=self._session.model is not None)
        if self._show_when_listed:
            self._show_when_listed = False
            self.show_current()
        self._batch.select_row(self.collection.index)

    @pyqtSlot(object)
    def _on_inference_batch_item_ready(self, item: BatchItem) -> None:
        self._batch.add_item(item)
        if item.error is not None and item.path != self.collection.current:
            self._session.post_message(f"{item.path.name}: {item.error}")

    @pyqtSlot(object)
    def _on_inference_batch_finished(self, finished: BatchFinished) -> None:
        self._batch.finish(finished)
        if finished.total == 0:
            self._session.post_message("No images found in what was opened.")
