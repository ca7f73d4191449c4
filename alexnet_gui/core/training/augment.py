"""Training-time augmentation as in the AlexNet paper (Krizhevsky et al., 2012, section 4.1).

The paper trains on random crops of the resized image and their mirror images, and adds
"PCA colour augmentation": to every pixel, a random multiple of the principal components of
ImageNet's RGB values, scaled by their eigenvalues, drawn once per image with standard deviation
0.1. The eigenvalues and eigenvectors below are the widely used ImageNet ones (fb.resnet.torch,
for pixels scaled to [0, 1]). ``resized-crop`` is the classic fine-tuning recipe of PyTorch's
transfer-learning tutorial (RandomResizedCrop and a flip) instead of the paper's fixed-scale crop.
"""

from __future__ import annotations

import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as F

from alexnet_gui.core.imaging.preprocess import Transform, limit_aspect
from alexnet_gui.core.models.spec import Preprocessing

AUGMENTATIONS: tuple[str, ...] = ("crop", "resized-crop", "none")
IMAGENET_EIGENVALUES = torch.tensor([0.2175, 0.0188, 0.0045])
IMAGENET_EIGENVECTORS = torch.tensor(
    [
        [-0.5675, 0.7192, 0.4009],
        [-0.5808, -0.0045, -0.8140],
        [-0.5836, -0.6948, 0.4203],
    ]
)


class PCALighting:
    """The paper's colour augmentation on a (3, H, W) tensor in [0, 1]."""

    def __init__(self, alphastd: float = 0.1) -> None:
        self.alphastd = alphastd

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self.alphastd == 0:
            return image
        alpha = torch.randn(3) * self.alphastd
        rgb = IMAGENET_EIGENVECTORS @ (alpha * IMAGENET_EIGENVALUES)
        return image + rgb.view(3, 1, 1).to(image.dtype)


def train_transform(
    pre: Preprocessing, *, augment: str = "crop", lighting_std: float = 0.1
) -> Transform:
    """A random crop of the right size, mirrored half the time, colour-jittered, normalised.

    Args:
        pre: the preprocessing the model is evaluated with; crops match its crop size.
        augment: ``crop`` (paper: resize, random crop), ``resized-crop`` (random scale and
            aspect ratio) or ``none`` (the evaluation center crop, no flip).
        lighting_std: the standard deviation of PCA lighting; 0 turns it off.
    """
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augment!r}; choose one of {AUGMENTATIONS}")
    interpolation = T.InterpolationMode(pre.interpolation)
    if augment == "resized-crop":
        geometric: list[object] = [
            T.RandomResizedCrop(pre.crop_size, interpolation=interpolation, antialias=True),
            T.RandomHorizontalFlip(),
        ]
    elif augment == "crop":
        geometric = [
            limit_aspect,
            T.Resize(pre.resize_size, interpolation=interpolation, antialias=True),
            T.RandomCrop(pre.crop_size),
            T.RandomHorizontalFlip(),
        ]
    else:
        geometric = [
            limit_aspect,
            T.Resize(pre.resize_size, interpolation=interpolation, antialias=True),
            T.CenterCrop(pre.crop_size),
        ]
    mean, std = list(pre.mean), list(pre.std)
    pipeline = T.Compose(geometric)
    lighting = PCALighting(lighting_std)

    def transform(image: Image.Image) -> torch.Tensor:
        tensor = F.convert_image_dtype(F.pil_to_tensor(pipeline(image)), torch.float)
        return F.normalize(lighting(tensor), mean=mean, std=std)

    return transform
