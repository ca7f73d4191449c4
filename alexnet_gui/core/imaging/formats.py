"""Which files are videos, by extension: apart from :mod:`.video` so that it costs no OpenCV.

The UI builds its "Open Video" file filter from this set, and the UI may not import cv2 (see
``tests/test_layering.py``); :mod:`.video` re-exports it for everything on the capture side.
"""

from __future__ import annotations

from pathlib import Path

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".avi", ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv"}
)


def is_video_path(path: str | Path) -> bool:
    """Whether the name ends like a video file; says nothing about whether it will play."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
