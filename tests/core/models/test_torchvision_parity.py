"""The app's own AlexNet and ImageNet facts equal torchvision's, so nothing on a start path needs
to import torchvision: the same state_dict keys and logits, the same class names, URL, hash and
preprocessing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torchvision.models import AlexNet_Weights, alexnet

from alexnet_gui.core.models import imagenet
from alexnet_gui.core.models.architectures import TorchvisionAlexNet, build_model
from alexnet_gui.core.models.weights import imagenet_spec
from alexnet_gui.paths import resource_path


def test_torchvisions_state_dict_loads_unchanged_and_gives_identical_logits() -> None:
    torch.manual_seed(3)
    theirs = alexnet(weights=None).eval()
    ours = build_model("torchvision").eval()
    assert isinstance(ours, TorchvisionAlexNet)
    their_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(their_state)  # features.0.weight ... classifier.6.bias
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in their_state.items()
    }
    ours.load_state_dict(their_state, strict=True)
    batch = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.equal(ours(batch), theirs(batch))
        assert torch.equal(ours(batch[:, :, :150, :170]), theirs(batch[:, :, :150, :170]))
    assert repr(ours.features) == repr(theirs.features)
    assert repr(ours.avgpool) == repr(theirs.avgpool) == "AdaptiveAvgPool2d(output_size=(6, 6))"
    assert repr(ours.classifier) == repr(theirs.classifier)  # dropout where torchvision has it


def test_a_fresh_model_is_initialised_as_torchvisions() -> None:
    """Training from scratch starts from the same weights as before, seed for seed."""
    torch.manual_seed(11)
    theirs = alexnet(weights=None, num_classes=10, dropout=0.3)
    torch.manual_seed(11)
    ours = build_model("torchvision", num_classes=10, dropout=0.3)
    for (name, mine), (_, expected) in zip(
        ours.state_dict().items(), theirs.state_dict().items(), strict=True
    ):
        assert torch.equal(mine, expected), name
    assert ours.classifier[0].p == 0.3


def test_the_imagenet_class_names_are_torchvisions() -> None:
    expected = AlexNet_Weights.IMAGENET1K_V1.meta["categories"]
    assert list(imagenet.categories()) == expected
    assert resource_path(*imagenet.CLASSES_RESOURCE).is_file()  # package data, under resources/


def test_the_imagenet_weights_facts_are_torchvisions() -> None:
    weights = AlexNet_Weights.IMAGENET1K_V1
    preset = weights.transforms()
    assert weights.url == imagenet.URL
    assert weights.url.rsplit("/", 1)[-1] == imagenet.FILE_NAME
    assert imagenet.FILE_NAME.rsplit("-", 1)[-1].startswith(imagenet.SHA256_PREFIX + ".")
    pre = imagenet.PREPROCESSING
    assert (pre.resize_size, pre.crop_size) == (preset.resize_size[0], preset.crop_size[0])
    assert (list(pre.mean), list(pre.std)) == (list(preset.mean), list(preset.std))
    assert pre.interpolation == preset.interpolation.value
    assert weights.meta["_metrics"]["ImageNet-1K"] == imagenet.ACCURACY
    assert weights.meta["num_params"] == imagenet.NUM_PARAMS
    assert weights.meta["_file_size"] == imagenet.FILE_SIZE_MB
    spec = imagenet_spec()
    assert (spec.url, spec.source, spec.arch) == (weights.url, weights.url, "torchvision")
    assert spec.metadata["acc@1"] == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]


@pytest.mark.parametrize(
    "module",
    [
        "alexnet_gui.core.models.weights",
        "alexnet_gui.core.models.download",
        "alexnet_gui.core.inference.classifier",
        "alexnet_gui.core.inference.folder",
        "alexnet_gui.core.engines.openvino",
    ],
)
def test_start_path_modules_import_no_torchvision(module: str) -> None:
    code = (
        f"import json, sys, {module}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('torchvision'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
