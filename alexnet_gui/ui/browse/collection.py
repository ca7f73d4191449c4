"""The images the user is browsing, and where in them they are; no Qt, so trivially testable."""

from __future__ import annotations

from pathlib import Path

PAGE = 10


def folder_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (not below it), sorted, hidden ones skipped."""
    from alexnet_gui.core.imaging.decode import IMAGE_EXTENSIONS  # Pillow only; no torch

    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS
            and not p.name.startswith(".") and p.is_file()]


class Collection:
    """An ordered list of image paths with a current position that never leaves the list."""

    def __init__(self) -> None:
        self._paths: list[Path] = []
        self._index = -1

    def __len__(self) -> int:
        return len(self._paths)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self._paths)

    @property
    def index(self) -> int:
        """The current position, or -1 when the collection is empty."""
        return self._index

    @property
    def current(self) -> Path | None:
        return self._paths[self._index] if self._paths else None

    def set(self, paths: list[Path] | tuple[Path, ...], index: int = 0) -> Path | None:
        self._paths = list(paths)
        self._index = max(0, min(index, len(self._paths) - 1)) if self._paths else -1
        return self.current

    def index_of(self, path: Path) -> int:
        try:
            return self._paths.index(path)
        except ValueError:
            return -1

    def go(self, index: int) -> Path | None:
        """Jump to ``index`` (clamped); ``None`` if that is where we already were."""
        if not self._paths:
            return None
        target = max(0, min(index, len(self._paths) - 1))
        if target == self._index:
            return None
        self._index = target
        return self.current

    def move(self, step: int) -> Path | None:
        """Move by ``step`` (±1 for Left/Right, ±PAGE for PageUp/PageDown)."""
        return self.go(self._index + step)
