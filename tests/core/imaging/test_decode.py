"""Files to RGB images: awkward valid files load, broken ones give one clear message."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.errors import ImageLoadError
from alexnet_gui.core.imaging.decode import (
    display_array,
    find_images,
    image_from_array,
    image_from_bytes,
    load_image,
)


def test_every_odd_but_valid_image_becomes_rgb(valid_odd_images: dict[str, Path]) -> None:
    for name, path in valid_odd_images.items():
        image = load_image(path)
        assert image.mode == "RGB", name
        assert min(image.size) >= 1, name


def test_exif_orientation_is_honoured(valid_odd_images: dict[str, Path]) -> None:
    assert load_image(valid_odd_images["rotated.jpg"]).size == (20, 60)


def test_animated_image_gives_its_first_frame(valid_odd_images: dict[str, Path]) -> None:
    assert load_image(valid_odd_images["animated.gif"]).getpixel((5, 5)) == (255, 0, 0)


def test_transparency_is_composited_over_white(valid_odd_images: dict[str, Path]) -> None:
    pixels = np.asarray(load_image(valid_odd_images["alpha.png"]))
    assert pixels[0, 0].tolist() == [255, 255, 255]  # alpha 0 at the top-left corner


def test_sixteen_bit_is_scaled_not_clipped(valid_odd_images: dict[str, Path]) -> None:
    pixels = np.asarray(load_image(valid_odd_images["gray16.png"]))
    assert pixels.max() > 200 and pixels.min() < 10


@pytest.mark.parametrize(
    "name", ["empty.jpg", "truncated.jpg", "random.png", "text.jpg", "bomb.png", "header-only.png"]
)
def test_broken_files_give_one_clear_line(broken_images: dict[str, Path], name: str) -> None:
    with pytest.raises(ImageLoadError) as info:
        load_image(broken_images[name])
    message = str(info.value)
    assert message.startswith(name) and "\n" not in message


def test_decompression_bomb_is_named(broken_images: dict[str, Path]) -> None:
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(broken_images["bomb.png"])


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


def test_bytes_and_camera_frames(chelsea_png: Path, chelsea_rgb: np.ndarray) -> None:
    assert np.array_equal(np.asarray(image_from_bytes(chelsea_png.read_bytes())), chelsea_rgb)
    bgr = chelsea_rgb[..., ::-1].copy()
    assert np.array_equal(np.asarray(image_from_array(bgr, bgr=True)), chelsea_rgb)
    with pytest.raises(ImageLoadError):
        image_from_array(np.zeros((4, 4, 7), np.uint8))


def test_display_array_shrinks_huge_images() -> None:
    big = Image.new("RGB", (5000, 1000))
    assert display_array(big, max_side=1000).shape == (200, 1000, 3)


def test_find_images_walks_folders(photo_folder: Path, tmp_path: Path) -> None:
    found = find_images([photo_folder])
    assert [p.name for p in found] == [
        "astronaut.jpg", "broken.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"
    ]
    hidden = tmp_path / ".thumbs"
    hidden.mkdir()
    Image.new("RGB", (4, 4)).save(hidden / "x.png")
    assert find_images([tmp_path]) == []


def test_errors_say_what_is_wrong_in_plain_words() -> None:
    from PIL import Image

    from alexnet_gui.core.imaging.decode import image_from_bytes

    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "PNG")
    damaged = bytearray(buffer.getvalue())
    damaged[29] ^= 0xFF  # the IHDR checksum
    huge = io.BytesIO()
    Image.new("1", (20000, 20000)).save(huge, "PNG")
    cases = {b"": "x.png: the file is empty (0 bytes).",
             bytes(damaged): "x.png: the image data is damaged",
             b"hello": "x.png: not an image file",
             huge.getvalue(): "x.png: too large: 20000 x 20000 pixels"}
    for data, start in cases.items():
        with pytest.raises(ImageLoadError) as info:
            image_from_bytes(data, "x.png")
        assert str(info.value).startswith(start)
