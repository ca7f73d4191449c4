"""Write the app icon in every format the bundles need, from one picture.

    .venv/bin/python scripts/make_icons.py            # writes what is missing or derived
    .venv/bin/python scripts/make_icons.py --redraw   # also replaces alexnet-gui.png

Outputs in ``resources/icons/``:

- ``alexnet-gui.png`` (256 px): the window icon and the Linux one. Kept as it is when it exists
  (it is the source picture); drawn here only when missing or with ``--redraw``.
- ``alexnet-gui-512.png`` (512 px): for the Linux desktop entry on high-DPI screens.
- ``alexnet-gui.ico`` (16 to 256 px): the Windows executable.
- ``alexnet-gui.icns`` (32 to 1024 px): the macOS app bundle (Pillow writes ICNS on any OS).

The large sizes come from the best master there is: ``resources/icons/make_icon.py``'s
``draw_icon()`` redrawn at 1024 px when that script is there and still draws exactly the PNG;
else this script's own drawing when it drew the PNG; else the PNG scaled up.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from PIL import Image, ImageChops, ImageDraw, ImageFilter

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
PNG = "alexnet-gui.png"
PNG_512 = "alexnet-gui-512.png"
ICO = "alexnet-gui.ico"
ICNS = "alexnet-gui.icns"
MASTER_SIZE = 1024
PNG_SIZE = 256
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)


# -- this script's own drawing: feature maps shrinking into an eye, on a dark rounded tile ------


def _lerp(a: tuple[int, ...], b: tuple[int, ...], t: float) -> tuple[int, ...]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def draw_icon(size: int = MASTER_SIZE, supersample: int = 4) -> Image.Image:
    """A square RGBA icon: three stacked conv feature maps and an eye, on a dark tile.

    Drawn ``supersample`` times larger and scaled down, which gives Pillow's shapes smooth edges.
    """
    s = size * supersample

    def px(v: float) -> float:  # coordinates are given on a 1000-unit canvas
        return v * s / 1000

    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    # the tile: a vertical gradient under a rounded-square mask, with a soft drop shadow
    gradient = Image.new("RGBA", (1, 256))
    for row in range(256):
        gradient.putpixel((0, row), (*_lerp((30, 41, 74), (15, 20, 38), row / 255), 255))
    tile = gradient.resize((s, s), Image.Resampling.BICUBIC)
    box = [px(40), px(40), px(960), px(960)]
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle(box, radius=px(210), fill=255)
    shadow = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    small = mask.resize((256, 256), Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(4))
    shadow.paste((0, 0, 0, 110), (0, round(px(12))), small.resize((s, s), Image.Resampling.BICUBIC))
    image = Image.alpha_composite(image, shadow)
    image.paste(tile, (0, 0), mask)

    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    # three feature maps, back to front: each smaller, brighter, a step down and to the right
    maps = [
        ((170, 215, 560, 605), (40, 78, 150)),
        ((250, 285, 610, 645), (52, 110, 205)),
        ((330, 355, 660, 685), (88, 166, 255)),
    ]
    for (x0, y0, x1, y1), colour in maps:
        draw.rounded_rectangle(
            [px(x0), px(y0), px(x1), px(y1)],
            radius=px(36),
            fill=(*colour, 255),
            outline=(190, 220, 255, 200),
            width=max(1, round(px(6))),
        )
    # the grid of the front map: the 3x3 kernel's receptive fields
    for i in (1, 2):
        x = px(330 + (660 - 330) * i / 3)
        y = px(355 + (685 - 355) * i / 3)
        draw.line([x, px(370), x, px(670)], fill=(150, 200, 255, 150), width=round(px(4)))
        draw.line([px(345), y, px(645), y], fill=(150, 200, 255, 150), width=round(px(4)))
    # the eye looking out of the stack: white almond, blue iris, dark pupil, orange top-1 glint
    cx, cy = 640, 420
    layer.paste((12, 17, 32, 255), (0, 0), _almond(s, px, cx, cy, grow=12))
    layer.paste((236, 241, 248, 255), (0, 0), _almond(s, px, cx, cy, grow=0))
    draw = ImageDraw.Draw(layer)
    r = 92
    draw.ellipse([px(cx - r), px(cy - r), px(cx + r), px(cy + r)], fill=(46, 104, 186, 255))
    r = 48
    draw.ellipse([px(cx - r), px(cy - r), px(cx + r), px(cy + r)], fill=(12, 17, 32, 255))
    r = 20
    gx, gy = cx + 34, cy - 34
    draw.ellipse([px(gx - r), px(gy - r), px(gx + r), px(gy + r)], fill=(255, 183, 77, 255))
    image = Image.alpha_composite(image, layer)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _almond(s: int, px: Callable[[float], float], cx: float, cy: float, grow: float) -> Image.Image:
    """The eye's outline as a mask: an ellipse cut by two large circles, ``grow`` units wider."""
    shapes = [
        (cx - 250, cy - 210, cx + 250, cy + 210),
        (cx - 250, cy - 330, cx + 250, cy + 90),
        (cx - 250, cy - 90, cx + 250, cy + 330),
    ]
    result = None
    for x0, y0, x1, y1 in shapes:
        mask = Image.new("L", (s, s), 0)
        box = [px(x0 - grow), px(y0 - grow), px(x1 + grow), px(y1 + grow)]
        ImageDraw.Draw(mask).ellipse(box, fill=255)
        result = mask if result is None else ImageChops.multiply(result, mask)
    assert result is not None
    return result


# -- the master picture -------------------------------------------------------------------------


def _load_colleague_script(icon_dir: Path) -> ModuleType | None:
    """``resources/icons/make_icon.py`` as a module, if it is there and draws the PNG."""
    path = icon_dir / "make_icon.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("_alexnet_gui_make_icon", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        print(f"make_icons: cannot load {path.name} ({exc}); scaling the PNG instead")
        return None
    if not all(hasattr(module, name) for name in ("draw_icon", "SIZE", "SCALE")):
        return None
    return module


def _same_pixels(a: Image.Image, b: Image.Image) -> bool:
    if a.size != b.size:
        return False
    return ImageChops.difference(a.convert("RGBA"), b.convert("RGBA")).getbbox() is None


def _redraw_colleague(module: ModuleType, size: int) -> Image.Image | None:
    """The script's picture at ``size``: it draws on a ``SIZE * SCALE`` canvas in fixed
    coordinates, so keep that product and trade supersampling for size."""
    canvas = int(module.SIZE) * int(module.SCALE)
    if canvas % size:
        return None
    saved = module.SIZE, module.SCALE
    try:
        module.SIZE, module.SCALE = size, canvas // size
        image = module.draw_icon()
    finally:
        module.SIZE, module.SCALE = saved
    return image if image.size == (size, size) else None


def master(icon_dir: Path, png: Image.Image | None) -> tuple[Image.Image, str]:
    """The largest faithful picture of the icon, and where it came from."""
    if png is None:
        return draw_icon(MASTER_SIZE), "drawn by scripts/make_icons.py"
    module = _load_colleague_script(icon_dir)
    if module is not None and _same_pixels(module.draw_icon(), png):
        image = _redraw_colleague(module, MASTER_SIZE)
        if image is not None:
            return image.convert("RGBA"), "resources/icons/make_icon.py redrawn at 1024 px"
    if _same_pixels(draw_icon(png.width), png):
        return draw_icon(MASTER_SIZE), "drawn by scripts/make_icons.py"
    scaled = png.convert("RGBA").resize((MASTER_SIZE, MASTER_SIZE), Image.Resampling.LANCZOS)
    return scaled, f"{PNG} scaled up"


def _sized(image: Image.Image, size: int) -> Image.Image:
    return image if image.width == size else image.resize((size, size), Image.Resampling.LANCZOS)


def write_icons(icon_dir: Path = ICON_DIR, *, redraw: bool = False) -> list[Path]:
    """Write the icon files into ``icon_dir``; the paths written."""
    icon_dir.mkdir(parents=True, exist_ok=True)
    written = []
    png_path = icon_dir / PNG
    if redraw or not png_path.is_file():
        draw_icon(PNG_SIZE).save(png_path, optimize=True)
        written.append(png_path)
    with Image.open(png_path) as opened:
        png = opened.convert("RGBA")
    big, source = master(icon_dir, png)
    print(f"make_icons: source {png_path.name} ({png.width} px); large sizes: {source}")

    path = icon_dir / PNG_512
    _sized(big, 512).save(path, optimize=True)
    written.append(path)

    # the PNG itself for its own size, so the small icons match the window icon exactly
    ico_frames = [png if size == png.width else _sized(big, size) for size in ICO_SIZES]
    path = icon_dir / ICO
    ico_frames[-1].save(
        path, format="ICO", sizes=[(n, n) for n in ICO_SIZES], append_images=ico_frames[:-1]
    )
    written.append(path)

    icns_frames = [png if size == png.width else _sized(big, size) for size in ICNS_SIZES]
    path = icon_dir / ICNS
    icns_frames[-1].save(path, format="ICNS", append_images=icns_frames[:-1])
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redraw", action="store_true", help=f"replace {PNG} with this script's drawing"
    )
    parser.add_argument("--out", type=Path, default=ICON_DIR, help="folder (resources/icons)")
    args = parser.parse_args(argv)
    for path in write_icons(args.out, redraw=args.redraw):
        with Image.open(path) as image:
            sizes = sorted(
                {
                    size[0] * (size[2] if len(size) > 2 else 1)
                    for size in image.info.get("sizes", {image.size})
                }
            )
        print(f"wrote {path}: {', '.join(f'{n} px' for n in sizes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
