"""Every modal question the app asks, as a small function a test can replace.

The main window calls these through the module (``dialogs.open_images(...)``), so
``monkeypatch.setattr(dialogs, "open_images", ...)`` answers for the user and no test ever runs
a modal event loop.
"""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtWidgets import QFileDialog, QMessageBox, QWidget

from alexnet_gui import APP_NAME, __version__

WEIGHTS_FILTER = "PyTorch weights (*.pth *.pt *.pth.tar *.ckpt);;All files (*)"


def image_filter() -> str:
    from alexnet_gui.core.imaging.decode import IMAGE_EXTENSIONS  # Pillow only; no torch

    patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
    return f"Images ({patterns});;All files (*)"


def open_images(parent: QWidget, directory: str) -> list[Path]:
    names, _ = QFileDialog.getOpenFileNames(parent, "Open images", directory, image_filter())
    return [Path(name) for name in names]


def video_filter() -> str:
    from alexnet_gui.core.imaging.formats import VIDEO_EXTENSIONS  # no OpenCV

    patterns = " ".join(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS))
    return f"Videos ({patterns});;All files (*)"


def open_video(parent: QWidget, directory: str) -> Path | None:
    name, _ = QFileDialog.getOpenFileName(parent, "Open a video", directory, video_filter())
    return Path(name) if name else None


def choose_snapshot_folder(parent: QWidget, directory: str) -> Path | None:
    name = QFileDialog.getExistingDirectory(
        parent, "Choose where snapshots are saved (asked once; Camera menu to change)", directory
    )
    return Path(name) if name else None


def open_folder(parent: QWidget, directory: str) -> Path | None:
    name = QFileDialog.getExistingDirectory(parent, "Open a folder of images", directory)
    return Path(name) if name else None


def choose_folder(parent: QWidget, title: str, directory: str) -> Path | None:
    """Any folder: training images (Model > Train on Folder), a folder to search (Tools)."""
    name = QFileDialog.getExistingDirectory(parent, title, directory)
    return Path(name) if name else None


def save_checkpoint(parent: QWidget, suggested: Path) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(
        parent, "Save the trained model as", str(suggested), WEIGHTS_FILTER
    )
    return Path(name) if name else None


def open_weights(parent: QWidget, directory: str) -> Path | None:
    name, _ = QFileDialog.getOpenFileName(
        parent, "Open weights or an alexnet-gui checkpoint", directory, WEIGHTS_FILTER
    )
    return Path(name) if name else None


def save_result(parent: QWidget, suggested: Path) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(
        parent, "Export the annotated image (a JSON file is written beside it)", str(suggested),
        "PNG image (*.png)",
    )
    return Path(name) if name else None


def save_csv(parent: QWidget, suggested: Path) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(
        parent, "Export the results table", str(suggested), "CSV (*.csv)"
    )
    return Path(name) if name else None


def show_about(parent: QWidget) -> None:
    QMessageBox.about(
        parent,
        f"About {APP_NAME}",
        f"<h3>{APP_NAME} {__version__}</h3>"
        "<p>Look at an image through AlexNet (Krizhevsky, Sutskever and Hinton, 2012): "
        "its five most likely ImageNet classes, on any image, folder or pasted picture.</p>"
        "<p>Weights: the ImageNet weights from torchvision, or any AlexNet state_dict or "
        "alexnet-gui checkpoint (Model menu).</p>",
    )
