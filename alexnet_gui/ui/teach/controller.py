"""Model > Teach: name classes, hold to record from the live source, train in seconds, use it.

The panel edits the project folder itself (classes are folders: making, renaming and removing
them costs nothing), and hands the rest to the Teach worker (``workers/teach_worker.py``), which
owns its own frozen AlexNet: recorded frames and added files are saved there and their fc7
features computed once; Train fits a new fc8 on them and saves ``PROJECT/model.pt`` in the
checkpoint format of ``alexnet-gui train``. The taught model is then loaded into the main worker
with the PyTorch engine, so the live view classifies with it at once: the ``auto`` engine would
first convert and time OpenVINO engines for the new weights (seconds, with the view waiting).

Frames are tapped from the live view (``LiveController.frame_shown``: what is on screen, mirror
included) at the rate the panel sets, only while a class's record button is held down.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt5.QtCore import QObject, pyqtBoundSignal, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QDockWidget, QFileDialog, QInputDialog, QMenu, QMessageBox, QWidget

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.training import teach_project
from alexnet_gui.messages import ModelStatus, TeachExample, TeachTrained
from alexnet_gui.ui import dialogs
from alexnet_gui.ui.qt_types import present
from alexnet_gui.ui.session import SAVED_MS, Session
from alexnet_gui.ui.teach.panel import ClassSection, TeachPanel

if TYPE_CHECKING:  # handed in by alexnet_gui.app
    from alexnet_gui.workers.teach_worker import TeachClient

DOCK_NAME = "teachDock"
NO_SOURCE = "Start the camera or open a video (Camera menu) first: recording takes its frames."


class TeachDialogs:
    """The questions the panel asks; tests replace these methods, never exec_() a dialog."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def new_project(self, start: str) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self.parent, "New Teach project (a folder)",
                                              str(Path(start) / "my-classes"))
        return Path(name) if name else None

    def open_project(self, start: str) -> Path | None:
        return dialogs.choose_folder(self.parent, "Open a Teach project folder", start)

    def class_name(self, title: str, text: str = "") -> str | None:
        name, ok = QInputDialog.getText(self.parent, title, "Class name:", text=text)
        return name if ok else None

    def files(self, start: str) -> list[Path]:
        return dialogs.open_images(self.parent, start)

    def confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self.parent, "Teach", question)
        return answer == QMessageBox.Yes

    def save_model(self, suggested: Path) -> Path | None:
        return dialogs.save_checkpoint(self.parent, suggested)


class TeachController(QObject):
    """The Model > Teach action, the dock, the class sections and one Teach worker.

    Signals:
        model_ready(TeachTrained): a taught model was saved and is being loaded.
    """

    model_ready = pyqtSignal(object)

    def __init__(self, session: Session, *, panel: TeachPanel, dock: QDockWidget, menu: QMenu,
                 client: TeachClient, frames: pyqtBoundSignal, dialog_parent: QWidget,
                 offer_download: Callable[[str], None]) -> None:
        super().__init__(session)
        self._session, self.panel, self.dock, self.client = session, panel, dock, client
        self._offer_download = offer_download
        self.dialogs = TeachDialogs(dialog_parent)
        self.root: Path | None = None
        self.recording: str | None = None
        self._last_frame = 0.0
        self._frames_live = False
        self._missing_message = ""
        self._loading: Path | None = None
        self.action = present(menu.addAction("&Teach…"))
        self.action.setStatusTip("Teach the network new classes from the camera in a minute")
        self.action.triggered.connect(self._on_action_triggered)
        frames.connect(self._on_live_frame_shown)
        p = panel
        p.new_clicked.connect(self._on_panel_new_clicked)
        p.open_clicked.connect(self._on_panel_open_clicked)
        p.add_class_clicked.connect(self._on_panel_add_class_clicked)
        p.train_clicked.connect(self._on_panel_train_clicked)
        p.cancel_clicked.connect(client.cancel_training)
        p.save_clicked.connect(self._on_panel_save_clicked)
        p.download_clicked.connect(self._on_panel_download_clicked)
        client.project_opened.connect(self._on_client_project_opened)
        client.example_added.connect(self._on_client_example_added)
        client.progressed.connect(panel.show_progress)
        client.trained.connect(self._on_client_trained)
        client.weights_missing.connect(self._on_client_weights_missing)
        client.failed.connect(self._on_client_failed)
        session.inference.model_loaded.connect(self._on_inference_model_loaded)
        session.closing.connect(self._on_session_closing)

    # -- commands -----------------------------------------------------------------------------

    def show(self) -> None:
        self.dock.show()
        self.dock.raise_()

    def open_project(self, root: Path) -> None:
        """Open (or make) the project folder; its classes and examples come back from disk."""
        self.root = Path(root)
        self.panel.set_project(self.root)
        self.panel.say(f"Opening {self.root.name}…")
        self.client.open_project(self.root)

    def add_class(self, name: str) -> None:
        if self.root is None:
            return
        try:
            name = teach_project.add_class(self.root, name)
        except UserFacingError as exc:
            self.panel.say(str(exc), error=True)
            return
        self._connect_section(self.panel.add_section(name))
        self.panel.say(f"Added {name!r}: hold its record button, or add files.")

    def rename_class(self, old: str, new: str) -> None:
        if self.root is None:
            return
        try:
            new = teach_project.rename_class(self.root, old, new)
        except UserFacingError as exc:
            self.panel.say(str(exc), error=True)
            return
        if new != old:  # shown at once; the worker rereads the moved files' paths and thumbnails
            self.panel.drop_section(old)
            self._connect_section(self.panel.add_section(new))
            self.client.open_project(self.root)

    def remove_class(self, name: str) -> None:
        if self.root is not None:
            for path in self.panel.sections[name].examples():
                self.client.forget(path)
            teach_project.remove_class(self.root, name)
            self.panel.drop_section(name)
            self.panel.say(f"Removed {name!r} and its examples.")

    def delete_examples(self, name: str, paths: list[Path]) -> None:
        if self.root is None:
            return
        for path in paths:
            try:
                teach_project.delete_example(self.root, path)
            except UserFacingError as exc:
                self.panel.say(str(exc), error=True)
                return
            self.client.forget(path)
        self.panel.sections[name].remove_examples(paths)

    def start_recording(self, name: str) -> None:
        if not self._frames_live or not self._session.stream_moving:
            self.panel.say(NO_SOURCE, error=True)
            return
        self.recording, self._last_frame = name, 0.0
        self.panel.sections[name].set_recording(True)

    def stop_recording(self) -> None:
        if self.recording is not None and self.recording in self.panel.sections:
            self.panel.sections[self.recording].set_recording(False)
            self.client.flush()
        self.recording = None

    def train(self) -> None:
        if self.root is None:
            return
        self.panel.set_training(True)
        self.panel.say("Training a new classifier on the examples' features…")
        self.client.train()

    def save_model(self) -> None:
        if self.root is None or not (self.root / teach_project.MODEL_FILE).is_file():
            self.panel.say("Train first: there is no taught model to save yet.", error=True)
            return
        dest = self.dialogs.save_model(Path(self._session.start_dir()) / f"{self.root.name}.pt")
        if dest is None:
            return
        try:
            shutil.copyfile(self.root / teach_project.MODEL_FILE, dest)
        except OSError as exc:
            self.panel.say(f"Could not save {dest}: {exc.strerror or exc}", error=True)
            return
        self._session.post_status(f"Saved the taught model as {dest.name} in {dest.parent}",
                                  SAVED_MS)

    # -- wiring -------------------------------------------------------------------------------

    def _connect_section(self, section: ClassSection) -> None:
        section.record_pressed.connect(self.start_recording)
        section.record_released.connect(lambda _name: self.stop_recording())
        section.add_files_clicked.connect(self._on_section_add_files_clicked)
        section.rename_clicked.connect(self._on_section_rename_clicked)
        section.remove_clicked.connect(self._on_section_remove_clicked)
        section.delete_requested.connect(
            lambda paths, name=section.name: self.delete_examples(name, paths))

    @pyqtSlot()
    def _on_action_triggered(self) -> None:
        self.show()
        last = self._session.settings.teach_project
        if self.root is None and last and Path(last).is_dir():
            self.open_project(Path(last))  # where the user left off
        elif self.root is None:
            self.panel.say("Make a new project (a folder for your classes) or open one.")
        self.client.check_base()  # the download offer comes first, if the weights are missing

    @pyqtSlot(object)
    def _on_live_frame_shown(self, rgb: np.ndarray) -> None:
        self._frames_live = True
        if self.recording is None:
            return
        now = time.monotonic()
        if now - self._last_frame >= 1.0 / self.panel.rate.value():
            self._last_frame = now
            self.client.add_frame(self.recording, rgb)

    @pyqtSlot()
    def _on_panel_new_clicked(self) -> None:
        root = self.dialogs.new_project(self._session.start_dir())
        if root is not None:
            self.open_project(root)

    @pyqtSlot()
    def _on_panel_open_clicked(self) -> None:
        root = self.dialogs.open_project(str(self.root or self._session.start_dir()))
        if root is not None:
            self.open_project(root)

    @pyqtSlot()
    def _on_panel_add_class_clicked(self) -> None:
        name = self.dialogs.class_name("Add a class")
        if name is not None:
            self.add_class(name)

    @pyqtSlot(str)
    def _on_section_add_files_clicked(self, name: str) -> None:
        paths = self.dialogs.files(self._session.start_dir())
        if paths:
            self.panel.say(f"Adding {len(paths)} file(s) to {name!r}…")
            self.client.add_files(name, paths)

    @pyqtSlot(str)
    def _on_section_rename_clicked(self, name: str) -> None:
        new = self.dialogs.class_name(f"Rename {name!r}", name)
        if new is not None:
            self.rename_class(name, new)

    @pyqtSlot(str)
    def _on_section_remove_clicked(self, name: str) -> None:
        count = len(self.panel.sections[name].examples())
        if self.dialogs.confirm(f"Remove the class {name!r} and delete its {count} examples?"):
            self.remove_class(name)

    @pyqtSlot()
    def _on_panel_train_clicked(self) -> None:
        self.train()

    @pyqtSlot()
    def _on_panel_save_clicked(self) -> None:
        self.save_model()

    @pyqtSlot()
    def _on_panel_download_clicked(self) -> None:
        self._offer_download(self._missing_message)

    @pyqtSlot(object, object)
    def _on_client_project_opened(self, root: Path, examples: tuple[TeachExample, ...]) -> None:
        if root != self.root:
            return
        self.panel.set_project(root)
        self._session.update_settings(teach_project=str(root))  # reopened next time
        for name in teach_project.list_classes(root):
            self._connect_section(self.panel.add_section(name))
        for example in examples:
            if example.class_name in self.panel.sections:
                self.panel.sections[example.class_name].add_example(example)
        count = len(self.panel.sections)
        self.panel.say(f"{count} classes, {len(examples)} examples." if count else
                       "An empty project: add a class for each thing to tell apart.")

    @pyqtSlot(object)
    def _on_client_example_added(self, example: TeachExample) -> None:
        section = self.panel.sections.get(example.class_name)
        if section is not None and example.path.parent.parent == self.root:
            section.add_example(example)

    @pyqtSlot(object)
    def _on_client_trained(self, result: TeachTrained) -> None:
        self.panel.set_training(False)
        self.panel.save_button.setEnabled(True)
        score = (f"{result.val_acc:.0%} right on {result.val_count} held-out examples"
                 if result.val_acc is not None else
                 f"{result.train_acc:.0%} right on its {result.examples} training examples "
                 "(too few to hold any out)")
        self.panel.say(f"Trained on {result.examples} examples in {result.seconds:.1f} s: "
                       f"{score}. The live view now uses it.")
        self._loading = result.checkpoint
        self._session.load_model(result.checkpoint, engine="pytorch")
        self.model_ready.emit(result)

    @pyqtSlot(object)
    def _on_inference_model_loaded(self, status: ModelStatus) -> None:
        if self._loading is not None and status.weights == self._loading:
            self._loading = None
            self._session.post_status(f"Using the taught model {status.info.name} "
                                      "(PyTorch engine)")
            if not self._session.stream_moving:
                self._session.resubmit()
        elif status.weights is None and self._missing_message:
            self._missing_message = ""  # the ImageNet weights arrived: teach can start
            self.panel.show_weights_missing(False)
            self.client.reload_base()

    @pyqtSlot(str)
    def _on_client_weights_missing(self, message: str) -> None:
        self._missing_message = message
        self.panel.show_weights_missing(True)
        self.panel.set_training(False, has_project=self.root is not None)
        self.panel.say("The ImageNet weights are needed to compute features.", error=True)

    @pyqtSlot(str)
    def _on_client_failed(self, message: str) -> None:
        self.panel.set_training(False, has_project=self.root is not None)
        self.panel.say(message, error=True)

    @pyqtSlot()
    def _on_session_closing(self) -> None:
        self.stop_recording()
        self.client.shutdown()
