"""Exports of the trained ``photo_classifier``, made once per session and shared by the tests.

Each export takes seconds (int8 more: calibration), so the four files (ONNX and OpenVINO IR, fp32
and int8) are written once. The model is a checkpoint with the photos' names as classes, so
the metadata carries real class names and the top-1 has real margins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alexnet_gui.core.export.exporter import ExportReport, export_model
from alexnet_gui.core.models.checkpoints import checkpoint_dict, save_checkpoint
from alexnet_gui.core.models.weights import LoadedModel
from tests.fixtures.engines import REAL_PHOTO_NAMES


@pytest.fixture(scope="session")
def photo_checkpoint(tmp_path_factory: pytest.TempPathFactory,
                     photo_classifier: LoadedModel) -> Path:
    """``photo_classifier`` as an alexnet-gui checkpoint (class names: the photos' names)."""
    path = tmp_path_factory.mktemp("export") / "photos.pth"
    save_checkpoint(path, checkpoint_dict(photo_classifier.model, photo_classifier.spec))
    return path


@pytest.fixture(scope="session")
def exported(photo_checkpoint: Path):
    """``exported(format, int8)``: the report of that export of ``photo_checkpoint``, made once."""
    made: dict[tuple[str, bool], ExportReport] = {}

    def get(fmt: str, int8: bool = False) -> ExportReport:
        if (fmt, int8) not in made:
            made[fmt, int8] = export_model(photo_checkpoint, fmt, int8=int8)
        return made[fmt, int8]

    return get


@pytest.fixture(scope="session")
def many_photo_crops() -> list[tuple[str, Image.Image]]:
    """100 crops of six of skimage's real photos (other crops than ``real_photos``'), named by
    photo: enough that 98% agreement means at most two differences."""
    from skimage import data

    rng = np.random.default_rng(2017)
    crops = []
    for index in range(100):
        name = REAL_PHOTO_NAMES[index % len(REAL_PHOTO_NAMES)]
        image = Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB")
        width, height = image.size
        side = int(rng.integers(min(width, height) // 2, min(width, height) + 1))
        left = int(rng.integers(0, width - side + 1))
        top = int(rng.integers(0, height - side + 1))
        crops.append((name, image.crop((left, top, left + side, top + side))))
    return crops
