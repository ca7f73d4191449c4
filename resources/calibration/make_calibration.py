"""Write the real photos that int8 engines are calibrated and checked on (run once, from source).

    .venv/bin/python resources/calibration/make_calibration.py

Fourteen of scikit-image's sample pictures, all CC0 or public domain (see each function's
docstring in ``skimage.data``), shrunk to 320 px on the short side and saved as JPEG. The app ships
them because a converted engine must be calibrated on real images, not noise, and the bundle has
no scikit-image. A user's own training folder is added to them when a checkpoint names one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

NAMES: tuple[str, ...] = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "grass", "gravel",
    "horse", "hubble_deep_field", "immunohistochemistry", "retina", "rocket",
)  # fmt: skip
SHORT_SIDE = 320


def main() -> None:
    from skimage import data

    folder = Path(__file__).resolve().parent
    for name in NAMES:
        array = np.asarray(getattr(data, name)())
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        image = Image.fromarray(array).convert("RGB")
        scale = SHORT_SIDE / min(image.size)
        if scale < 1:
            size = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
        image.save(folder / f"{name}.jpg", quality=90)


if __name__ == "__main__":
    main()
