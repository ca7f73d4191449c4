"""Kernel and feature-map grids, colour maps and overlays, checked pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.inference.classifier import Classifier
from alexnet_gui.core.models.architectures import build_model, first_conv
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec
from alexnet_gui.core.models.weights import LoadedModel
from alexnet_gui.core.visualize.drawing import (
    SEPARATOR_RGB,
    GridGeometry,
    colormap,
    feature_grid,
    feature_map,
    grid_shape,
    overlay,
)
from alexnet_gui.core.visualize.inside import kernel_grid, kernel_tile, look_inside
from tests.fixtures.models import SMALL_CLASSES, random_model


def _weights(arch: str) -> np.ndarray:
    return first_conv(build_model(arch, num_classes=3)).weight.detach().numpy()


Activations = dict[str, np.ndarray]


def _activations(
    classifier: Classifier, picture: np.ndarray, layers: tuple[str, ...]
) -> Activations:
    """Each layer's raw output for ``picture``, as look_inside keeps it for the panel."""
    image = Image.fromarray(picture)
    return {
        layer: look_inside(classifier, image, layer=layer, gradcam=False).activations[layer]
        for layer in layers
    }


@pytest.fixture(scope="module")
def torchvision_activations(
    imagenet_like_classifier: Classifier, chelsea_rgb: np.ndarray
) -> Activations:
    layers = ("conv1", "relu1", "pool1", "conv2", "relu2", "relu3", "relu5", "pool5", "fc8")
    return _activations(imagenet_like_classifier, chelsea_rgb, layers)


@pytest.fixture(scope="module")
def paper_activations(chelsea_rgb: np.ndarray) -> Activations:
    spec = WeightsSpec("paper", "paper", SMALL_CLASSES, Preprocessing.for_input_size(227), "tests")
    classifier = Classifier(LoadedModel(random_model("paper", 3), spec), device="cpu")
    return _activations(classifier, chelsea_rgb, ("lrn1",))


def _expected_tile(maps: np.ndarray, low: float, high: float, scale: int, name: str) -> np.ndarray:
    """The colour-mapped tile, computed independently of the module's helpers."""
    unit = (maps.astype(np.float64) - low) / (high - low)
    indices = np.rint(np.clip(unit, 0, 1) * 255).astype(np.uint8)
    return np.kron(colormap(name)[indices], np.ones((scale, scale, 1), np.uint8))


def _tile(image: np.ndarray, geometry: GridGeometry, position: int) -> np.ndarray:
    x, y = geometry.origin(position)
    return image[y : y + geometry.tile_height, x : x + geometry.tile_width]


@pytest.mark.parametrize(
    ("count", "shape"),
    [(64, (8, 8)), (96, (8, 12)), (192, (12, 16)), (256, (16, 16)), (384, (16, 24)),
     (4096, (64, 64)), (1000, (25, 40)), (13, (4, 4)), (1, (1, 1))],
)  # fmt: skip
def test_grid_shape_is_near_square_and_wide(count: int, shape: tuple[int, int]) -> None:
    assert grid_shape(count) == shape


@pytest.mark.parametrize(("arch", "count", "rows", "cols"), [("torchvision", 64, 8, 8),
                                                             ("paper", 96, 8, 12)])  # fmt: skip
def test_kernel_grid_sizes(arch: str, count: int, rows: int, cols: int) -> None:
    grid = kernel_grid(_weights(arch), scale=4)
    g = grid.geometry
    assert (g.count, g.rows, g.cols, g.tile_height, g.tile_width) == (count, rows, cols, 44, 44)
    assert grid.image.shape == (rows * 45 - 1, cols * 45 - 1, 3)
    assert grid.image.dtype == np.uint8 and grid.image.flags.c_contiguous
    assert len(grid.stats) == count
    # 1-px separators between tiles, nothing around the outside.
    assert (grid.image[:, 44] == SEPARATOR_RGB).all() and (grid.image[44, :] == SEPARATOR_RGB).all()


@pytest.mark.parametrize("arch", ["torchvision", "paper"])
def test_kernel_tile_is_the_minmax_normalised_kernel(arch: str) -> None:
    weights = _weights(arch)
    grid = kernel_grid(weights, scale=3)
    for index in (0, 5, len(weights) - 1):
        kernel = weights[index].transpose(1, 2, 0)  # RGB last
        expected = np.kron(
            np.rint((kernel - kernel.min()) / (kernel.max() - kernel.min()) * 255).astype(np.uint8),
            np.ones((3, 3, 1), np.uint8),
        )
        np.testing.assert_array_equal(_tile(grid.image, grid.geometry, index), expected)
        np.testing.assert_array_equal(kernel_tile(weights, index, 3), expected)
        stats = grid.stats[index]
        assert stats.index == index
        assert stats.min == pytest.approx(float(kernel.min()))
        assert stats.max == pytest.approx(float(kernel.max()))
        assert stats.mean == pytest.approx(float(kernel.mean()), abs=1e-7)
        assert stats.std == pytest.approx(float(kernel.std()), rel=1e-5)


def test_symmetric_kernel_normalisation_keeps_zero_grey() -> None:
    weights = np.zeros((2, 3, 3, 3), np.float32)
    weights[0, 0, 0, 0], weights[0, 1, 1, 1] = 2.0, -1.0
    tile = kernel_tile(weights, 0, 1, normalisation="symmetric")
    assert tuple(tile[0, 0]) == (255, 128, 128)  # +max is white in its channel, 0 is grey
    assert tile[1, 1, 1] == 64  # -max/2
    assert (kernel_tile(weights, 1, 1, normalisation="symmetric") == 128).all()
    assert (kernel_tile(weights, 1, 1) == 0).all()  # a constant kernel has no contrast: black


def test_geometry_maps_pixels_to_tiles() -> None:
    grid = kernel_grid(_weights("torchvision"), scale=2)  # 8x8 tiles of 22 px, step 23
    assert grid.kernel_at(0, 0) == 0
    assert grid.kernel_at(21.9, 21.9) == 0
    assert grid.kernel_at(22, 5) is None  # separator
    assert grid.kernel_at(23, 0) == 1
    assert grid.kernel_at(5, 23 * 3 + 1) == 24
    assert grid.kernel_at(grid.image.shape[1] - 1, grid.image.shape[0] - 1) == 63
    assert grid.kernel_at(-1, 3) is None and grid.kernel_at(3, grid.image.shape[0]) is None
    partial = GridGeometry(count=13, rows=4, cols=4, tile_height=5, tile_width=5)
    assert partial.position_at(2, 18) == 12 and partial.position_at(6, 18) is None


@pytest.mark.parametrize("layer", ["conv1", "relu1", "pool1", "conv2", "relu5", "pool5"])
def test_feature_tile_equals_normalised_activation(
    torchvision_activations: Activations, layer: str
) -> None:
    activations = torchvision_activations
    grid = feature_grid(activations, layer, scale=2)
    maps = activations[layer]
    assert grid.image.shape == (grid.geometry.height, grid.geometry.width, 3)
    assert (grid.geometry.tile_height, grid.geometry.tile_width) == (
        maps.shape[1] * 2,
        maps.shape[2] * 2,
    )
    for channel in (0, 7, len(maps) - 1):
        m = maps[channel]
        if m.max() == m.min():
            continue
        expected = _expected_tile(m, m.min(), m.max(), 2, "viridis")
        np.testing.assert_array_equal(_tile(grid.image, grid.geometry, channel), expected)
        enlarged = feature_map(activations, layer, channel, scale=2)
        np.testing.assert_array_equal(enlarged, _tile(grid.image, grid.geometry, channel))


def test_conv_maps_are_taken_before_the_inplace_relu(torchvision_activations: Activations) -> None:
    activations = torchvision_activations
    assert activations["conv1"].min() < 0 and activations["relu1"].min() >= 0
    np.testing.assert_allclose(np.maximum(activations["conv1"], 0), activations["relu1"])


def test_paper_lrn_grid(paper_activations: Activations) -> None:
    activations = paper_activations
    grid = feature_grid(activations, "lrn1", scale=1)
    assert (grid.geometry.rows, grid.geometry.cols, grid.geometry.tile_height) == (8, 12, 55)
    m = activations["lrn1"][47]
    expected = _expected_tile(m, m.min(), m.max(), 1, "viridis")
    np.testing.assert_array_equal(_tile(grid.image, grid.geometry, 47), expected)


def test_layer_normalisation_uses_one_range(torchvision_activations: Activations) -> None:
    activations = torchvision_activations
    grid = feature_grid(activations, "relu2", normalisation="layer", colormap_name="gray", scale=1)
    maps = activations["relu2"]
    for channel in (0, 100):
        expected = _expected_tile(maps[channel], maps.min(), maps.max(), 1, "gray")
        np.testing.assert_array_equal(_tile(grid.image, grid.geometry, channel), expected)


def test_sorting_by_mean_puts_the_strongest_channel_first(
    torchvision_activations: Activations,
) -> None:
    activations = torchvision_activations
    grid = feature_grid(activations, "relu3", sort_by_mean=True, scale=1)
    means = activations["relu3"].mean(axis=(1, 2))
    assert grid.order[0] == int(np.argmax(means))
    assert np.all(np.diff(means[list(grid.order)]) <= 0)
    assert sorted(grid.order) == list(range(len(means)))
    assert grid.channel_at(0, 0) == grid.order[0]
    x, y = grid.geometry.origin(5)
    assert grid.channel_at(x, y) == grid.order[5]
    np.testing.assert_array_equal(
        _tile(grid.image, grid.geometry, 0), feature_map(activations, "relu3", grid.order[0])
    )


def test_fc_layers_are_cells_without_separators(torchvision_activations: Activations) -> None:
    activations = torchvision_activations
    grid = feature_grid(activations, "fc8", scale=3)
    g = grid.geometry
    assert (g.rows, g.cols, g.separator, g.tile_height) == (25, 40, 0, 3)
    assert grid.image.shape == (75, 120, 3)
    values = activations["fc8"]
    best = int(np.argmax(values))
    row, col = divmod(best, 40)
    assert tuple(grid.image[row * 3 + 1, col * 3 + 1]) == tuple(colormap("viridis")[255])
    assert grid.channel_at(col * 3 + 2, row * 3) == best


def test_auto_scale_fits_small_maps() -> None:
    activations = {"pool5": np.random.default_rng(0).random((256, 6, 6), dtype=np.float32)}
    grid = feature_grid(activations, "pool5")
    assert grid.scale == 5 and grid.image.shape == (16 * 31 - 1, 16 * 31 - 1, 3)


def test_colormaps_match_matplotlib_and_brighten_monotonically() -> None:
    # Reference entries of matplotlib's tables (rounded to bytes); ours are within 2/255.
    reference = {
        "viridis": {0: (68, 1, 84), 100: (42, 118, 142), 200: (112, 207, 87), 255: (253, 231, 37)},
        "inferno": {0: (0, 0, 4), 100: (144, 37, 104), 200: (251, 157, 7), 255: (252, 255, 164)},
    }
    for name, entries in reference.items():
        lut = colormap(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8 and not lut.flags.writeable
        for index, rgb in entries.items():
            assert np.abs(lut[index].astype(int) - rgb).max() <= 2
        luminance = lut.astype(float) @ [0.2126, 0.7152, 0.0722]
        assert np.all(np.diff(luminance) > -0.5)
    with pytest.raises(ValueError, match="colour map"):
        colormap("jet")


def test_overlay_blends_a_bilinearly_resized_map() -> None:
    image = np.full((40, 60, 3), 100, np.uint8)
    values = np.zeros((4, 6), np.float32)
    values[:, :3] = 1.0  # hot left half
    assert np.array_equal(overlay(image, values, opacity=0.0), image)
    full = overlay(image, values, opacity=1.0, colormap_name="gray")
    assert full.shape == image.shape
    assert (full[:, :25] == 255).all() and (full[:, 35:] == 0).all()
    assert 0 < full[0, 30, 0] < 255  # bilinear transition, not a hard edge
    half = overlay(image, values, opacity=0.5, colormap_name="gray")
    assert abs(int(half[0, 0, 0]) - 178) <= 1 and abs(int(half[0, 59, 0]) - 50) <= 1


def test_overlay_inside_a_box_only() -> None:
    image = np.full((100, 200, 3), 100, np.uint8)
    result = overlay(image, np.ones((13, 13)), opacity=1.0, normalise=False, box=(0.25, 0, 0.75, 1))
    assert (result[:, :50] == 100).all() and (result[:, 150:] == 100).all()
    assert (result[:, 50:150] == colormap("inferno")[255]).all()
