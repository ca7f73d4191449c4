"""Every method against maps worked out on paper for the 4x4 network of ``hand.py``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from alexnet_gui.core.visualize.explain import ExplainOptions, explain, unit_backprop
from alexnet_gui.core.visualize.explain.occlusion import patch_starts
from tests.core.visualize.explain.hand import HandNet, grid, picture


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def run(method: str, class_index: int | None, **options: object):
    return explain(HandNet(), picture(), ExplainOptions(method, class_index=class_index, **options))


def test_default_class_is_the_top1_and_score_its_probability() -> None:
    result = run("gradcam", None)
    assert result.class_index == 1 and result.layer == "relu1"  # y_1 = 21/16 > y_0 = 9/16
    assert result.score == pytest.approx(sigmoid((21 - 9) / 16), rel=1e-6)


def test_gradcam_by_hand() -> None:
    # class 0: w = (2, -1, 0)/16; cam = ReLU(2 A_0 - A_1)/16: (0,0) 8, (1,1) 4 - 2 = 2, (3,3) -1
    np.testing.assert_allclose(run("gradcam", 0).map, grid({(0, 0): 1.0, (1, 1): 0.25}), atol=1e-6)
    # class 1: w = (-1, 1, 0.5)/16; cam = ReLU(-A_0 + A_1 + 1.5): (0,0) -2.5, (3,3) 2.5, else 1.5
    np.testing.assert_allclose(run("gradcam", 1).map, grid({(0, 0): 0.0, (3, 3): 1.0}, 0.6),
                               atol=1e-6)  # fmt: skip


def test_gradcam_plus_plus_by_hand() -> None:
    # class 0, g = W/16 is constant per channel: alpha_k = 1 / (2 + sum(A_k) g_k).
    # k=0: 1/(2 + 6/8) = 4/11, w_0 = 16 * 4/11 * 1/8 = 8/11; k=1: ReLU(g) = 0; k=2: g = 0, 0/0 -> 0.
    np.testing.assert_allclose(run("gradcam++", 0).map, grid({(0, 0): 1.0, (1, 1): 0.5}),
                               atol=1e-6)  # fmt: skip
    # class 1: k=0 ReLU(g) = 0; k=1: alpha = 1/(2 + 3/16) = 16/35, w_1 = 16/35;
    # k=2: alpha = 1/(2 + 48/32) = 2/7, w_2 = 16 * 2/7 * 1/32 = 1/7.
    # cam = 16/35 A_1 + 3/7: (1,1) 32/35 + 15/35 = 47/35, (3,3) 31/35, else 15/35.
    expected = grid({(1, 1): 1.0, (3, 3): 31 / 47}, 15 / 47)
    result = run("gradcam++", 1)
    np.testing.assert_allclose(result.map, expected, atol=1e-6)
    assert np.isfinite(result.map).all()


def test_layercam_by_hand() -> None:
    # class 0: ReLU(g) = (1/8, 0, 0): cam = A_0 / 8.
    np.testing.assert_allclose(run("layercam", 0).map, grid({(0, 0): 1.0, (1, 1): 0.5}), atol=1e-6)
    # class 1: ReLU(g) = (0, 1/16, 1/32): cam = (A_1 + 1.5)/16: (1,1) 3.5, (3,3) 2.5, else 1.5.
    np.testing.assert_allclose(
        run("layercam", 1).map, grid({(1, 1): 1.0, (3, 3): 2.5 / 3.5}, 1.5 / 3.5), atol=1e-6
    )


def test_scorecam_by_hand() -> None:
    # Masks: A_0/4, A_1/2; A_2 is constant, so its mask is 0 and its weight is 0.
    # x * A_0/4: relu1 sums (5, 1, 4.5) -> y = (9/16, -1.75/16), p_0 = sigmoid(10.75/16).
    # x * A_1/2: relu1 sums (2, 2.5, 4.5) -> y = (1.5/16, 2.75/16), p_0 = sigmoid(-1.25/16).
    # The baseline (all zero) gives p_0 = 1/2.
    c0, c1 = sigmoid(10.75 / 16) - 0.5, sigmoid(-1.25 / 16) - 0.5
    # cam = ReLU(c0 A_0 + c1 A_1): (0,0) 4 c0, (1,1) 2 c0 + 2 c1, (3,3) c1 < 0.
    expected = grid({(0, 0): 1.0, (1, 1): (c0 + c1) / (2 * c0)})
    calls: list[tuple[int, int]] = []
    result = explain(HandNet(), picture(), ExplainOptions("scorecam", class_index=0, batch_size=1),
                     progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    np.testing.assert_allclose(result.map, expected, atol=1e-6)
    assert calls == [(0, 2), (1, 2), (2, 2)]  # two live channels, one per batch


def test_guided_backprop_and_deconvnet_by_hand() -> None:
    # class 1: at relu1 the gradient is (-1, 1, 0.5)/16 per channel. Guided: ReLU(g) where x > 0.
    guided = run("guided-backprop", 1)
    assert guided.layer is None and guided.map.shape == (3, 4, 4)
    np.testing.assert_allclose(guided.map[0], grid({}), atol=1e-7)
    np.testing.assert_allclose(guided.map[1], grid({(1, 1): 1 / 16, (3, 3): 1 / 16}), atol=1e-7)
    np.testing.assert_allclose(guided.map[2], grid({}, 1 / 32), atol=1e-7)
    # The deconvnet passes ReLU(g) whatever x was: channel 1 everywhere.
    deconv = unit_backprop(HandNet(), picture(), layer="fc6", unit=1, mode="deconv")
    np.testing.assert_allclose(deconv[0], grid({}), atol=1e-7)
    np.testing.assert_allclose(deconv[1], grid({}, 1 / 16), atol=1e-7)
    np.testing.assert_allclose(deconv[2], grid({}, 1 / 32), atol=1e-7)
    # The same guided image as a unit: fc6 unit 1 is class 1's logit.
    unit = unit_backprop(HandNet(), picture(), layer="fc6", unit=1, mode="guided")
    np.testing.assert_allclose(unit, guided.map, atol=1e-7)


def test_plain_gradient_would_differ_so_the_rule_is_really_applied() -> None:
    inputs = picture().requires_grad_(True)
    (plain,) = torch.autograd.grad(HandNet()(inputs)[0, 0], inputs)
    assert float(plain[0, 1, 1, 1]) == pytest.approx(-1 / 16)  # the negative signal guided drops
    assert float(run("guided-backprop", 0).map[1, 1, 1]) == 0.0


@pytest.mark.parametrize("inplace", [True, False])
def test_unit_backprop_of_a_map_takes_its_strongest_activation(inplace: bool) -> None:
    # relu1 channel 0 peaks at (0, 0) (value 4): d/dx_0(0,0) = 1, nothing else.
    for mode in ("guided", "deconv"):
        image = unit_backprop(HandNet(inplace=inplace), picture(), layer="relu1", unit=0, mode=mode)
        expected = np.zeros((3, 4, 4), np.float32)
        expected[0, 0, 0] = 1.0
        np.testing.assert_array_equal(image, expected)
    # conv1 channel 1 peaks at (1, 1): before any ReLU, so no rule is involved.
    image = unit_backprop(HandNet(inplace=inplace), picture(), layer="conv1", unit=1)
    assert image[1, 1, 1] == 1.0 and np.count_nonzero(image) == 1
    with pytest.raises(ValueError, match="out of range"):
        unit_backprop(HandNet(), picture(), layer="conv1", unit=3)
    with pytest.raises(ValueError, match="unknown mode"):
        unit_backprop(HandNet(), picture(), layer="conv1", unit=0, mode="backwards")


def test_guided_gradcam_by_hand() -> None:
    # class 0: guided gradient 1/8 at x_0 > 0 ((0,0), (1,1)); Grad-CAM there 1 and 0.25.
    result = run("guided-gradcam", 0)
    assert result.layer == "relu1" and result.map.shape == (3, 4, 4)
    expected = np.zeros((3, 4, 4), np.float32)
    expected[0, 0, 0], expected[0, 1, 1] = 1 / 8, 1 / 32
    np.testing.assert_allclose(result.map, expected, atol=1e-7)


def test_occlusion_by_hand() -> None:
    # Patch 2, stride 2: four blocks. Class 1's probability is sigmoid(y_1 - y_0); unoccluded
    # y_1 - y_0 = 12/16. Hiding block (0,0) (relu1 sums become 0, 1, 36): 20/16, a gain -> 0.
    # Block (0,2) or (2,0) (sums 6, 3, 36): 6/16. Block (2,2) (sums 6, 2, 36): 4/16, the most.
    side = (sigmoid(12 / 16) - sigmoid(6 / 16)) / (sigmoid(12 / 16) - sigmoid(4 / 16))
    expected = np.kron(np.array([[0.0, side], [side, 1.0]], np.float32), np.ones((2, 2)))
    result = run("occlusion", 1, occlusion_patch=2, occlusion_stride=2)
    assert result.layer is None
    np.testing.assert_allclose(result.map, expected, atol=1e-6)


def test_occlusion_averages_overlapping_patches() -> None:
    """Patch 2, stride 1: each pixel gets the mean drop of the (up to 4) patches covering it."""
    model, x = HandNet(), picture()
    with torch.no_grad():
        p = float(torch.softmax(model(x), 1)[0, 0])
        drops = {}
        for y in range(3):
            for x0 in range(3):
                hidden = x.clone()
                hidden[..., y : y + 2, x0 : x0 + 2] = 0
                drops[y, x0] = p - float(torch.softmax(model(hidden), 1)[0, 0])
    expected = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            covering = [d for (y, x0), d in drops.items() if y <= i < y + 2 and x0 <= j < x0 + 2]
            expected[i, j] = max(0.0, sum(covering) / len(covering))
    result = run("occlusion", 0, occlusion_patch=2, occlusion_stride=1, batch_size=4)
    np.testing.assert_allclose(result.map, expected / expected.max(), atol=1e-6)


def test_patch_positions_cover_every_pixel() -> None:
    assert patch_starts(224, 32, 16) == list(range(0, 193, 16))
    assert patch_starts(10, 4, 4) == [0, 4, 6]
    assert patch_starts(3, 5, 1) == [0]
    with pytest.raises(ValueError, match="at least 1"):
        patch_starts(10, 0, 1)


def test_the_rule_only_touches_the_calling_threads_passes() -> None:
    """Another thread's backward pass through the same model stays the plain gradient."""
    import threading

    from alexnet_gui.core.visualize.explain.guided import backprop_rule

    model, seen = HandNet(), {}

    def other_thread() -> None:
        inputs = picture().requires_grad_(True)
        (seen["gradient"],) = torch.autograd.grad(model(inputs)[0, 0], inputs)

    with backprop_rule(model, "deconv"):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(timeout=30)
    assert float(seen["gradient"][0, 1, 1, 1]) == pytest.approx(-1 / 16)  # not ReLU'd
    assert float(seen["gradient"][0, 0, 0, 1]) == 0.0  # x <= 0 there: masked, as plain backprop
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam", "guided-gradcam",
                                    "scorecam", "occlusion"])  # fmt: skip
def test_a_frozen_model_gets_the_same_maps(method: str) -> None:
    """Fine-tuned models may come with frozen layers: the input carries the gradient instead."""
    frozen = HandNet()
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    options = ExplainOptions(method, class_index=1, occlusion_patch=2, occlusion_stride=1)
    expected = explain(HandNet(), picture(), options).map
    np.testing.assert_array_equal(explain(frozen, picture(), options).map, expected)
    assert all(not p.requires_grad and p.grad is None for p in frozen.parameters())
