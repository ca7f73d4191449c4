"""The main window's commands that talk to the user through dialogs, files and settings.

A mixin of :class:`~alexnet_gui.ui.main_window.MainWindow`, split off so that the window's own
module stays a readable list of wiring; every method here relies only on the window's public
attributes (``settings``, ``messages``, ``actions_``, ``batch``...).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5.QtCore import QByteArray, Qt
from PyQt5.QtWidgets import QApplication

from alexnet_gui.messages import FileSource, Source
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.browse.sources import clipboard_content
from alexnet_gui.ui.download_dialog import DownloadDialog
from alexnet_gui.ui.export import ExportError, export_csv, export_result

if TYPE_CHECKING:
    from alexnet_gui.ui.main_window import MainWindow


class CommandsMixin:
    """Open, browse, paste, export, recent files, full screen, the download offer, the layout."""

    def start(
        self: MainWindow, *, files: list[str] | tuple[str, ...] = (), weights: str | None = None
    ) -> None:
        """Start the worker (it imports torch), load the model, then open ``files``."""
        self.inference.start()
        self.live.probe_cameras()  # in the background; the Camera menu lists what it finds
        chosen = weights or self.settings.last_model
        if chosen and not weights and not Path(chosen).is_file():
            self.messages.show_message(f"The last model {chosen} is gone; using ImageNet.")
            chosen = ""
        self.load_model(Path(chosen) if chosen else None)
        if files:
            self.open_paths([Path(f) for f in files])

    def load_model(self: MainWindow, weights: Path | None) -> None:
        self._load_seq += 1
        self.status.set_model(None, text="Loading model…")
        self.statusBar().showMessage("Loading model…")
        self.inference.load_model(weights, device=self.settings.device, engine=self.settings.engine)

    def open_paths(self: MainWindow, paths: list[Path]) -> None:
        """Files and folders: show the first image, classify them all in the background."""
        if not paths:
            return
        self.image_opened.emit()
        settings = self.settings
        for path in reversed(paths[:10]):
            settings = settings.with_recent(path)
        folder = paths[0] if paths[0].is_dir() else paths[0].parent
        self.update_settings(recent_files=settings.recent_files, last_folder=str(folder))
        self._show_when_listed = True
        if len(paths) == 1 and not paths[0].is_dir():
            self.collection.set(paths)
            self.show_current()
            self._show_when_listed = False
        self.start_batch(paths)

    def start_batch(self: MainWindow, paths: list[Path] | tuple[Path, ...]) -> None:
        self._batch_seq = self._load_seq
        self.inference.start_batch(tuple(paths), tta=self.settings.tta)

    def show_current(self: MainWindow) -> None:
        path = self.collection.current
        if path is not None:
            self.image_opened.emit()
            self.batch.select_row(self.collection.index)
            self.statusBar().showMessage(f"Classifying {path.name}…")
            self.submit(FileSource(path))

    def submit(self: MainWindow, source: Source) -> int:
        self._source, self._source_seq = source, self._load_seq
        s = self.settings
        return self.inference.submit(source, topk=s.topk, tta=s.tta, inspect=self._inspect)

    def resubmit(self: MainWindow) -> None:
        if self._source is not None:
            self.submit(self._source)

    def navigate(self: MainWindow, step: int) -> None:
        if self.collection.move(step) is not None:
            self.show_current()

    def paste(self: MainWindow) -> None:
        if not self.open_content(clipboard_content(QApplication.clipboard().mimeData())):
            self.statusBar().showMessage("The clipboard holds no image and no image files.", 5000)

    def open_content(self: MainWindow, content: list[Path] | Source | None) -> bool:
        """Open what a paste or a drop carried: files and folders, or one image; False if none."""
        if isinstance(content, list):
            self.open_paths(content)
        elif content is not None:
            self.image_opened.emit()
            self.submit(content)
        else:
            return False
        return True

    def open_files_dialog(self: MainWindow) -> None:
        paths = dialogs.open_images(self, self._start_dir())
        if paths:
            self.open_paths(paths)

    def open_folder_dialog(self: MainWindow) -> None:
        folder = dialogs.open_folder(self, self._start_dir())
        if folder is not None:
            self.open_paths([folder])

    def open_weights_dialog(self: MainWindow) -> None:
        path = dialogs.open_weights(self, self._start_dir())
        if path is not None:
            self.load_model(path)

    def export_result(self: MainWindow) -> None:
        result = self.result
        if result is None:
            self.statusBar().showMessage("Nothing to export yet: open an image first.", 5000)
            return
        stem = Path(result.name).stem or "image"
        target = dialogs.save_result(self, Path(self._start_dir()) / f"{stem}-alexnet.png")
        if target is None:
            return
        try:
            png, json_file = export_result(result, target)
        except ExportError as exc:
            self.messages.show_message(str(exc))
            return
        self.statusBar().showMessage(f"Exported {png.name} and {json_file.name}", 5000)

    def export_csv(self: MainWindow) -> None:
        rows = self.batch.csv_rows()
        if len(rows) <= 1:
            self.statusBar().showMessage("Nothing to export yet: open a folder first.", 5000)
            return
        target = dialogs.save_csv(self, Path(self._start_dir()) / "alexnet-results.csv")
        if target is None:
            return
        try:
            export_csv(rows, target)
        except ExportError as exc:
            self.messages.show_message(str(exc))
            return
        self.statusBar().showMessage(f"Exported {len(rows) - 1} rows to {target.name}", 5000)

    def clear_recent(self: MainWindow) -> None:
        self.update_settings(recent_files=())

    def rebuild_recent_menu(self: MainWindow) -> None:
        menu = self.actions_.menus["recent"]
        menu.clear()
        for text in self.settings.recent_files:
            action = menu.addAction(text)
            action.triggered.connect(functools.partial(self._open_recent, Path(text)))
        if self.settings.recent_files:
            menu.addSeparator()
        menu.addAction(self.actions_.clear_recent)
        self.actions_.clear_recent.setEnabled(bool(self.settings.recent_files))

    def _open_recent(self: MainWindow, path: Path) -> None:
        if path.exists():
            self.open_paths([path])
        else:
            self.messages.show_message(f"{path} no longer exists.")

    def toggle_full_screen(self: MainWindow) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.actions_.full_screen.setChecked(self.isFullScreen())

    def offer_download(self: MainWindow, message: str) -> None:
        """The modeless offer to download the ImageNet weights or choose a file."""
        if self.download_dialog is None:
            dialog = DownloadDialog(self, jobs=self.jobs, message=message, url=self.download_url,
                                    directory=self._start_dir())
            dialog.weights_ready.connect(self.load_model)
            self.download_dialog = dialog
        self.download_dialog.show()
        self.download_dialog.raise_()

    def check_actions(self: MainWindow) -> None:
        """Menus reflect the settings (after a restore or a refused change)."""
        s = self.settings
        self.actions_.devices[s.device].setChecked(True)
        self.actions_.engines[s.engine].setChecked(True)
        self.actions_.topk[s.topk].setChecked(True)
        self.actions_.tta.setChecked(s.tta)

    def restore_settings(self: MainWindow) -> None:
        s = self.settings
        if not (s.window_geometry and self.restoreGeometry(QByteArray(s.window_geometry))):
            self.resize(1200, 800)
        if not (s.window_state and self.restoreState(QByteArray(s.window_state))):
            self.resizeDocks([self.folder_dock], [190], Qt.Vertical)  # the picture comes first
        if not (s.splitter_state and self.splitter.restoreState(QByteArray(s.splitter_state))):
            self.splitter.setSizes([880, 300])
        self.check_actions()
        self.rebuild_recent_menu()

    def save_window_state(self: MainWindow) -> None:
        self.update_settings(
            window_geometry=bytes(self.saveGeometry()),
            window_state=bytes(self.saveState()),
            splitter_state=bytes(self.splitter.saveState()),
        )

    def _start_dir(self: MainWindow) -> str:
        folder = self.settings.last_folder
        return folder if folder and Path(folder).is_dir() else str(Path.home())

