"""Draw resources/icons/alexnet-gui.png (256 px): AlexNet's layer blocks on a dark tile.

Run once after editing: ``.venv/bin/python resources/icons/make_icon.py``. Drawn at 4x and
scaled down, which gives Pillow's shapes smooth edges.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
SCALE = 4


def _slab(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, h: float, depth: float,
          front: tuple[int, int, int], side: tuple[int, int, int],
          top: tuple[int, int, int]) -> None:
    """A box in oblique projection: front face, right side, top."""
    d = depth
    draw.polygon([(x + w, y), (x + w + d, y - d), (x + w + d, y + h - d), (x + w, y + h)],
                 fill=side)
    draw.polygon([(x, y), (x + d, y - d), (x + w + d, y - d), (x + w, y)], fill=top)
    draw.rectangle([x, y, x + w, y + h], fill=front)


def draw_icon() -> Image.Image:
    s = SIZE * SCALE
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    # background tile with a vertical gradient
    tile = Image.new("RGBA", (s, s))
    for row in range(s):
        t = row / s
        colour = (int(24 + 20 * t), int(36 + 24 * t), int(64 + 40 * t), 255)
        ImageDraw.Draw(tile).line([(0, row), (s, row)], fill=colour)
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle([8, 8, s - 8, s - 8], radius=s // 6, fill=255)
    image.paste(tile, (0, 0), mask)
    # conv blocks: tall and thin first, then smaller and deeper, like the paper's figure
    blocks = [
        (150, 330, 28, 360, 70), (250, 390, 46, 250, 60), (370, 430, 60, 170, 48),
        (500, 440, 60, 150, 40), (610, 450, 52, 130, 36),
    ]
    for x, y, w, h, depth in blocks:
        _slab(draw, x, y, w, h, depth, (88, 166, 255), (46, 104, 186), (150, 200, 255))
    # fully connected layers: three bars ending in the orange top-1
    for i, (height, colour) in enumerate(((300, (220, 226, 236)), (300, (220, 226, 236)),
                                          (180, (255, 183, 77)))):
        x = 740 + i * 62
        draw.rounded_rectangle([x, 512 - height // 2, x + 30, 512 + height // 2], radius=12,
                               fill=colour)
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


if __name__ == "__main__":
    target = Path(__file__).with_name("alexnet-gui.png")
    draw_icon().save(target)
    print(f"wrote {target}")
