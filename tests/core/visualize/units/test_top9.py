"""The top-9 index: maxima equal a direct computation, a known winner, caching and cancel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_gui.core.errors import UserFacingError
from alexnet_gui.core.inference.similarity import IndexCancelled
from alexnet_gui.core.visualize.units import top9
from tests.fixtures.tiny import tiny_classifier

# The red square of every picture, in the 64 px originals and in the 224 px model input (the
# picture is resized 4x to 256 and centre-cropped by 16 px on each side).
SQUARE = (24, 40, 32, 48)  # top, left, bottom, right in the original
SQUARE_IN_CROP = (80, 144, 112, 176)


@pytest.fixture
def classifier():
    """Tiny's conv (3x3, stride 8) made by hand: channel 0 sees red, channel 1 green."""
    classifier = tiny_classifier()
    conv = classifier.model.features[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 0, 1, 1], conv.weight[0, 1, 1, 1] = 1.0, -1.0
        conv.weight[1, 1, 1, 1], conv.weight[1, 0, 1, 1] = 1.0, -1.0
    return classifier


def write_picture(path: Path, red: int) -> None:
    pixels = np.full((64, 64, 3), 90, dtype=np.uint8)
    top, left, bottom, right = SQUARE
    pixels[top:bottom, left:right] = (red, 20, 20)
    Image.fromarray(pixels).save(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "pictures"
    root.mkdir()
    for i, red in enumerate((120, 250, 160, 200, 140, 180)):
        write_picture(root / f"p{i}.png", red)
    (root / "broken.jpg").write_bytes(b"not a picture")
    return root


def index(folder, classifier, **kwargs):
    return top9.update_unit_index(folder, lambda: classifier, model_key="tiny", layer="relu1",
                                  **kwargs)


def test_maxima_and_positions_match_a_direct_computation(folder, classifier):
    found, stats = index(folder, classifier)
    assert (stats.total, stats.computed, stats.failed) == (6, 6, 1)
    for name, best, where in zip(found.paths, found.maxima, found.positions, strict=True):
        batch = classifier.preprocess(Image.open(folder / name).convert("RGB"))
        with torch.inference_mode():
            maps = torch.relu(classifier.model.features[0](batch))[0]
        expected = maps.flatten(1).max(dim=1).values.numpy()
        np.testing.assert_allclose(best, expected, rtol=1e-5, atol=1e-6)
        chosen = maps.flatten(1)[torch.arange(maps.shape[0]), torch.from_numpy(where).long()]
        np.testing.assert_allclose(chosen.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_the_reddest_picture_leads_channel_0_and_its_patch_is_the_red_square(folder,
                                                                            classifier):
    found, _ = index(folder, classifier)
    hits = found.top(0)
    assert [hit.path.name for hit in hits] == ["p1.png", "p3.png", "p5.png", "p2.png",
                                               "p4.png", "p0.png"]
    assert [hit.value for hit in hits] == sorted((hit.value for hit in hits), reverse=True)
    top, left, bottom, right = SQUARE_IN_CROP
    for hit in hits:  # the recorded maximum lies inside the square
        x0, y0, x1, y1 = found.field.box(hit.y, hit.x, 224)
        assert top <= y0 and y1 <= bottom and left <= x0 and x1 <= right
    patches = top9.top_patches(found, 0)
    assert len(patches) == 6
    patch = patches[0][1]
    assert patch.shape == (3, 3, 3)  # the conv's 3x3 receptive field
    assert (patch[..., 0] > 240).all() and (patch[..., 1] < 40).all()
    grid = top9.patch_grid([p for _, p in patches], tile=20, gap=2)
    assert grid.shape == (2 * 20 + 2, 3 * 20 + 4, 3)
    assert grid[:20, :20, 0].min() > 240  # the first tile is the reddest patch, enlarged


def test_a_second_layer_lookup_reads_the_disk_and_refreshes_changed_files(folder, classifier):
    first, _ = index(folder, classifier)

    def no_model():
        raise AssertionError("an up-to-date index must not load the model")

    again, stats = top9.update_unit_index(folder, no_model, model_key="tiny", layer="relu1")
    assert (stats.computed, stats.reused) == (0, 6)
    np.testing.assert_array_equal(again.maxima, first.maxima)
    assert again.field == first.field and again.map_width == first.map_width
    write_picture(folder / "p0.png", 255)  # now the reddest
    (folder / "p4.png").unlink()
    refreshed, stats = index(folder, classifier)
    assert (stats.computed, stats.reused, stats.removed) == (1, 4, 1)
    assert refreshed.top(0, 1)[0].path.name == "p0.png"
    other, _ = top9.update_unit_index(folder, lambda: classifier, model_key="other",
                                      layer="relu1")
    assert len(other.paths) == 5  # another model key is another index


def test_cancel_keeps_what_was_done(folder, classifier):
    calls = iter([False, True])
    with pytest.raises(IndexCancelled):
        index(folder, classifier, batch_size=2, is_cancelled=lambda: next(calls))
    _, stats = index(folder, classifier)
    # the first batch of two was broken.jpg (never indexed) and p0.png (kept)
    assert (stats.reused, stats.computed, stats.failed) == (1, 5, 1)


def test_bad_requests_are_one_line(tmp_path, classifier, folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserFacingError, match="No images"):
        index(tmp_path / "empty", classifier)
    found, _ = index(folder, classifier)
    with pytest.raises(UserFacingError, match="units 0 to 3"):
        found.top(4)
    with pytest.raises(UserFacingError, match="no layer"):
        top9.update_unit_index(folder, lambda: classifier, model_key="x", layer="conv9")
