"""Drawing tools for the network's insides: colour maps, tile grids, feature maps, overlays.

Every picture is a uint8 RGB array the panel only has to paint: one layer's feature maps as a grid
of colour-mapped tiles, one map enlarged, or a 2-D map (a feature map or a Grad-CAM heat map)
blended over an image; conv1's kernel grid (in :mod:`alexnet_gui.core.visualize.inside`) uses the
same tiling. Everything is numpy (plus cv2 for the bilinear resize), fast enough to run for every
webcam frame in the inference worker, and free of Qt and torch.

Tiles are enlarged by repeating pixels (nearest neighbour, an integer factor) so that each weight or
activation stays a crisp square, and are separated by 1-px lines of :data:`SEPARATOR_RGB`. A
:class:`GridGeometry` maps a mouse position on the grid back to a tile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

SEPARATOR_RGB = (40, 40, 40)
NORMALISATIONS: tuple[str, ...] = ("map", "layer")

# Every 8th entry (and the last) of matplotlib's viridis and inferno tables (CC0, van der Walt and
# Smith), as RGB bytes. Linear interpolation rebuilds the 256 entries to within 2/255 of matplotlib.
_ANCHORS = np.r_[np.arange(0, 256, 8), 255]
_ANCHOR_HEX = {
    "viridis": "440154470d6048186a482374472d7b4537814240863e49893b528b375b8d33638d"
    "2f6b8e2c728e297a8e26828e23898e21918c1f988b1fa08822a78528ae8032b67a"
    "3fbc734ec36b5ec96270cf5784d44b98d83eaddc30c2df23d8e219ece51bfde725",
    "inferno": "0000040403120b0724150b37210c4a2f0a5b3d09654a0c6b57106e64156e71196e"
    "7d1e6d8a226a972766a32c61b0315bbc3754c73e4cd24644db503be45a31eb6628"
    "f1731df68013f98e09fb9d07fcac11fbbc21f9cb35f5db4cf2ea69f3f68afcffa4",
}


def _lut_from_anchors(hex_bytes: str) -> np.ndarray:
    anchors = np.frombuffer(bytes.fromhex(hex_bytes), np.uint8).reshape(-1, 3).astype(np.float64)
    x = np.arange(256)
    lut = np.stack([np.interp(x, _ANCHORS, anchors[:, c]) for c in range(3)], axis=1)
    return np.rint(lut).astype(np.uint8)


_LUTS: dict[str, np.ndarray] = {
    "gray": np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1),
    **{name: _lut_from_anchors(text) for name, text in _ANCHOR_HEX.items()},
}
for _lut in _LUTS.values():
    _lut.setflags(write=False)  # shared by every thread: nobody may change them
COLORMAPS: tuple[str, ...] = tuple(_LUTS)


def colormap(name: str) -> np.ndarray:
    """The (256, 3) uint8 lookup table of ``gray``, ``viridis`` or ``inferno`` (read-only)."""
    try:
        return _LUTS[name]
    except KeyError:
        raise ValueError(f"unknown colour map {name!r}; choose one of {COLORMAPS}") from None


def to_indices(unit: np.ndarray) -> np.ndarray:
    """Values in [0, 1] to lookup-table indices 0..255 (rounded; out-of-range values clipped)."""
    return (np.clip(unit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def apply_colormap(unit: np.ndarray, name: str = "viridis") -> np.ndarray:
    """Colour values in [0, 1] through a lookup table: shape (...) becomes (..., 3) uint8."""
    return colormap(name)[to_indices(unit)]


def minmax(values: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """Scale to [0, 1] over ``axis`` (``None``: all); a constant block becomes 0, i.e. dark."""
    values = np.asarray(values, dtype=np.float32)
    low = values.min(axis=axis, keepdims=True)
    span = values.max(axis=axis, keepdims=True) - low
    return np.divide(values - low, span, out=np.zeros_like(values), where=span > 0)


def upscale(array: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement of the last two axes by an integer factor (no blurring)."""
    if scale == 1:
        return array
    return np.repeat(np.repeat(array, scale, axis=-2), scale, axis=-1)


def resize_bilinear(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """A 2-D float map resized with bilinear interpolation (pixel centres aligned, like torch)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    return cv2.resize(values, (int(width), int(height)), interpolation=cv2.INTER_LINEAR)


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, cols) of a near-square grid, wider than tall.

    An exact factorisation with aspect at most 2 is preferred, so no tile slot stays empty: 64 gives
    8x8, 96 gives 8x12 (the paper's two groups of 48 kernels fill the top and bottom four rows),
    192 gives 12x16, 384 gives 16x24, 4096 gives 64x64. Otherwise ceil(sqrt) columns.
    """
    if count <= 0:
        return 0, 0
    for rows in range(math.isqrt(count), 0, -1):
        if count % rows == 0:
            cols = count // rows
            if cols <= 2 * rows:
                return rows, cols
            break
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


@dataclass(frozen=True)
class GridGeometry:
    """Where each tile of a grid lies: tile ``p`` is at row ``p // cols``, column ``p % cols``."""

    count: int
    rows: int
    cols: int
    tile_height: int
    tile_width: int
    separator: int = 1

    @property
    def height(self) -> int:
        return max(0, self.rows * (self.tile_height + self.separator) - self.separator)

    @property
    def width(self) -> int:
        return max(0, self.cols * (self.tile_width + self.separator) - self.separator)

    def origin(self, position: int) -> tuple[int, int]:
        """(x, y) of the top-left pixel of the tile at ``position``."""
        row, col = divmod(position, self.cols)
        return col * (self.tile_width + self.separator), row * (self.tile_height + self.separator)

    def position_at(self, x: float, y: float) -> int | None:
        """The tile under pixel (x, y) of the grid image; ``None`` on a separator or outside."""
        col, dx = divmod(math.floor(x), self.tile_width + self.separator)
        row, dy = divmod(math.floor(y), self.tile_height + self.separator)
        inside = 0 <= col < self.cols and 0 <= row < self.rows
        if not inside or dx >= self.tile_width or dy >= self.tile_height:
            return None
        position = row * self.cols + col
        return position if position < self.count else None


def tile_grid(tiles: np.ndarray, geometry: GridGeometry) -> np.ndarray:
    """(N, h, w, 3) uint8 tiles into one (H, W, 3) image, empty slots in the separator colour."""
    rows, cols, sep = geometry.rows, geometry.cols, geometry.separator
    h, w = tiles.shape[1:3]
    slots = np.empty((rows * cols, h + sep, w + sep, 3), np.uint8)
    slots[...] = SEPARATOR_RGB
    slots[: len(tiles), :h, :w] = tiles
    image = slots.reshape(rows, cols, h + sep, w + sep, 3).transpose(0, 2, 1, 3, 4)
    image = image.reshape(rows * (h + sep), cols * (w + sep), 3)
    return np.ascontiguousarray(image[: geometry.height, : geometry.width])


# --- feature maps -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FeatureGrid:
    """One layer's channels as tiles; ``order[p]`` is the channel shown at grid position ``p``.

    fc layers (shape (N,)) are drawn as N one-pixel cells without separators, normalised over the
    layer, so the same geometry maps a click to a unit.
    """

    layer: str
    image: np.ndarray
    geometry: GridGeometry
    order: tuple[int, ...]
    means: np.ndarray
    maxima: np.ndarray
    normalisation: str
    scale: int

    def channel_at(self, x: float, y: float) -> int | None:
        position = self.geometry.position_at(x, y)
        return None if position is None else self.order[position]


def _as_maps(values: np.ndarray) -> tuple[np.ndarray, bool]:
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3:
        return values, False
    if values.ndim == 1:
        return values[:, None, None], True
    raise ValueError(f"expected activations of shape (C, H, W) or (N,), got {values.shape}")


def auto_scale(count: int, height: int, width: int, max_side: int = 512) -> int:
    """The largest integer enlargement that keeps the grid within ``max_side`` pixels (>= 1)."""
    rows, cols = grid_shape(count)
    return max(1, min(max_side // max(1, cols * width), max_side // max(1, rows * height)))


def feature_grid(
    activations: Mapping[str, np.ndarray],
    layer: str,
    *,
    sort_by_mean: bool = False,
    normalisation: str = "map",
    colormap_name: str = "viridis",
    scale: int | None = None,
) -> FeatureGrid:
    """Every channel of ``layer`` as a colour-mapped tile.

    ``normalisation="map"`` stretches each map over the colour map on its own (shows the pattern of
    weak maps); ``"layer"`` uses one range for the whole layer (shows which maps are strong). An
    all-zero map (a dead ReLU) is drawn in the colour map's darkest colour. ``scale=None`` picks the
    enlargement with :func:`auto_scale`.
    """
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}; use {NORMALISATIONS}")
    maps, is_vector = _as_maps(activations[layer])
    count, height, width = maps.shape
    means = maps.mean(axis=(1, 2))
    maxima = maps.max(axis=(1, 2))
    order = np.argsort(-means, kind="stable") if sort_by_mean else np.arange(count)
    unit = minmax(maps, axis=None if is_vector or normalisation == "layer" else (1, 2))
    if scale is None:
        scale = auto_scale(count, height, width)
    tiles = colormap(colormap_name)[upscale(to_indices(unit[order]), scale)]
    rows, cols = grid_shape(count)
    geometry = GridGeometry(count, rows, cols, height * scale, width * scale, 0 if is_vector else 1)
    image = tile_grid(tiles, geometry)
    return FeatureGrid(
        layer, image, geometry, tuple(int(c) for c in order), means, maxima, normalisation, scale
    )


def feature_map(
    activations: Mapping[str, np.ndarray],
    layer: str,
    channel: int,
    *,
    colormap_name: str = "viridis",
    scale: int = 1,
) -> np.ndarray:
    """One channel of ``layer``, min-max normalised on its own: (H*scale, W*scale, 3) uint8."""
    maps, _ = _as_maps(activations[layer])
    unit = minmax(maps[channel])
    return np.ascontiguousarray(colormap(colormap_name)[upscale(to_indices(unit), scale)])


# --- overlays -----------------------------------------------------------------------------------


def overlay(
    image: np.ndarray,
    values: np.ndarray,
    *,
    opacity: float = 0.5,
    colormap_name: str = "inferno",
    normalise: bool = True,
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """A 2-D map colour-mapped and alpha-blended over an (H, W, 3) uint8 image.

    The map is resized bilinearly to the image, or to ``box`` (x0, y0, x1, y1 as fractions of the
    image's width and height; the model's crop within the full picture); outside the box the image
    is unchanged. ``normalise`` min-max scales the map first; otherwise it must lie in [0, 1].
    """
    image = np.asarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (0.0, 0.0, 1.0, 1.0) if box is None else box
    left, right = round(x0 * width), round(x1 * width)
    top, bottom = round(y0 * height), round(y1 * height)
    result = image.copy()
    if right <= left or bottom <= top:
        return result
    unit = minmax(values) if normalise else np.asarray(values, dtype=np.float32)
    colours = apply_colormap(resize_bilinear(unit, bottom - top, right - left), colormap_name)
    alpha = float(np.clip(opacity, 0.0, 1.0))
    region = np.ascontiguousarray(image[top:bottom, left:right])
    result[top:bottom, left:right] = cv2.addWeighted(region, 1.0 - alpha, colours, alpha, 0.0)
    return result
