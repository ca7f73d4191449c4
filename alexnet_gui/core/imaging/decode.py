"""Files, bytes and camera frames to RGB images, with every failure as one readable message.

Pillow does the decoding. EXIF orientation is honoured, any mode (CMYK, 16-bit, palette, alpha,
grayscale) becomes RGB, animated images give their first frame, and Pillow's decompression-bomb
limit stays on: a file claiming more pixels than that is refused before it is decoded.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from alexnet_gui.core.errors import ImageLoadError

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jfif"}
)
# Images larger than this on their long side are shrunk for display; the model needs 256 px.
DISPLAY_MAX_SIDE = 2048


def load_image(path: str | Path) -> Image.Image:
    """Open an image file as an RGB ``PIL.Image`` that is fully decoded in memory."""
    path = Path(path)
    with _file_errors(path), _open_regular_file(path) as handle:
        return _decode(handle, path.name)


def decode_for_model(path: str | Path) -> np.ndarray | Image.Image:
    """A file's pixels for the model: an RGB array from OpenCV for a plain RGB or grey JPEG
    (libjpeg-turbo, EXIF orientation applied, several times faster than Pillow's whole path),
    else :func:`load_image`'s RGB image, which also words every problem.

    A folder's many files go this way (the CLI and the window's table); OpenCV is imported on
    first use.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # load_image words it (not found, permission denied...)
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # Reading a FIFO blocks until someone writes to it; a device may never end.
        raise ImageLoadError(f"{path.name}: not a regular file (a pipe, socket or device).")
    if mode is not None and stat.S_ISREG(mode) and _plain_jpeg(path):
        import cv2

        try:
            data = np.fromfile(path, dtype=np.uint8)
            # libjpeg pads a truncated file with grey where Pillow refuses it: no end marker,
            # no fast path, so a cut-off download is an error here too.
            ends = len(data) > 4 and data[-2] == 0xFF and data[-1] == 0xD9
            rgb = cv2.imdecode(data, cv2.IMREAD_COLOR_RGB) if ends else None
        except (cv2.error, OSError, ValueError):
            rgb = None
        if rgb is not None:
            return rgb
        # damaged or unusual after the header: Pillow decodes it or says what is wrong
    return load_image(path)


def _plain_jpeg(path: Path) -> bool:
    """Whether Pillow's header check calls it an RGB or grey JPEG of an acceptable size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.format == "JPEG" and image.mode in ("RGB", "L")
    except Exception:  # the still-image path reports the problem in its own words
        return False


def check_image(path: str | Path) -> None:
    """Raise :class:`ImageLoadError` unless ``path`` starts like an image Pillow can read.

    Only the header is read (a millisecond), so the CLI can refuse bad inputs before it spends
    seconds loading a model; data damaged further in is found when the image is decoded.
    """
    path = Path(path)
    with _file_errors(path), _open_regular_file(path) as handle:
        _decode(handle, path.name, header_only=True)


@contextlib.contextmanager
def _file_errors(path: Path) -> Iterator[None]:
    """The OS's errors for ``path`` as one readable :class:`ImageLoadError`."""
    try:
        yield
    except ImageLoadError:
        raise
    except FileNotFoundError as exc:
        raise ImageLoadError(f"{path.name}: file not found.") from exc
    except IsADirectoryError as exc:
        raise ImageLoadError(f"{path.name}: is a folder, not an image.") from exc
    except PermissionError as exc:
        raise ImageLoadError(f"{path.name}: permission denied.") from exc
    except OSError as exc:
        raise ImageLoadError(f"{path.name}: cannot be read ({exc.strerror or exc}).") from exc


def _open_regular_file(path: Path) -> io.BufferedReader:
    """Open for reading, refusing anything but a regular file.

    A FIFO named ``photo.png`` would block ``open()`` until something writes to it, which hangs
    the worker or the CLI for good; a device file can stream forever. Opening without blocking
    and checking with ``fstat`` refuses both at once.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise ImageLoadError(f"{path.name}: not a regular file (a pipe, socket or device).")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def image_from_bytes(data: bytes, name: str = "image") -> Image.Image:
    """Decode an encoded image held in memory (the clipboard, a download)."""
    return _decode(io.BytesIO(data), name)


def image_from_array(array: np.ndarray, *, bgr: bool = False) -> Image.Image:
    """A camera frame or an array as an RGB image; ``bgr`` for OpenCV's channel order."""
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ImageLoadError(f"Unsupported frame shape {array.shape}.")
    array = array[..., :3]
    if bgr:
        array = array[..., ::-1]
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))


# The first bytes of formats Pillow reads: a file that starts like one is damaged, not foreign.
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM",
               b"II*\x00", b"MM\x00*", b"RIFF")


def _decode(stream: BinaryIO, name: str, *, header_only: bool = False) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns between the limit and twice the limit; treat that as an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                if header_only:
                    return image
                image.seek(0)  # first frame of an animation
                image.load()
                return to_rgb(ImageOps.exif_transpose(image) or image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(f"{name}: {_too_large(stream)}") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(f"{name}: {_unidentified(stream)}") from exc
    except NotImplementedError as exc:
        # Found by scripts/fuzz_imaging.py: a DDS header with an unknown pixel format.
        raise ImageLoadError(
            f"{name}: uses a variant of its format that Pillow cannot read ({exc})."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        # Pillow reports truncated and corrupt data with these.
        raise ImageLoadError(f"{name}: the image data is damaged or truncated ({exc}).") from exc
    except MemoryError as exc:
        raise ImageLoadError(f"{name}: not enough memory to decode this image.") from exc


def _head(stream: BinaryIO, size: int = 16) -> bytes:
    try:
        stream.seek(0)
        return stream.read(size)
    except (OSError, ValueError):
        return b""


def _unidentified(stream: BinaryIO) -> str:
    """Why Pillow found no format: an empty file, a damaged image, or not an image at all."""
    head = _head(stream)
    if not head:
        return "the file is empty (0 bytes)."
    if head.startswith(_SIGNATURES):
        return "the image data is damaged (its header is broken)."
    return "not an image file (or a format Pillow cannot read)."


def _too_large(stream: BinaryIO) -> str:
    """``too large: W x H pixels``, read from the header without the size check."""
    limit = Image.MAX_IMAGE_PIXELS or 0
    text = "too large"
    head = _head(stream)
    for format_id in Image.ID:  # what Image.open does, less its decompression-bomb check
        factory, accept = Image.OPEN[format_id]
        try:
            if accept is not None and not accept(head):
                continue
            stream.seek(0)
            width, height = factory(stream, "").size
        except Exception:  # any plugin's complaint: try the next one
            continue
        text = f"too large: {width} x {height} pixels"
        break
    return (f"{text} (the limit is {limit / 1e6:.0f} million pixels; it may be a "
            "decompression bomb).")


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: alpha over white, 16-bit scaled down, CMYK converted."""
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        if image.mode == "F":
            low, top = float(array.min()), float(array.max()) or 1.0
            array = (array - low) / max(top - low, 1e-12) * 255.0
        else:
            array = array / top * 255.0
        gray = np.clip(array, 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([gray] * 3, axis=-1))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def display_array(image: Image.Image, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """An HxWx3 uint8 copy for the screen, shrunk if the image is very large."""
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def find_images(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and image files found in folders (recursively, sorted, hidden skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and is_image_path(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found
