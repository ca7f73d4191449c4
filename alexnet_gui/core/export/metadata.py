"""What an exported model says about itself: class names, pre-processing, where it came from.

An exported file must be usable without this app, and a model whose pre-processing travels
apart from it drifts (the classic complaint about Teachable Machine and Lobe exports). So the
facts a :class:`~alexnet_gui.core.models.spec.WeightsSpec` carries go into the file itself:
ONNX ``metadata_props`` and the OpenVINO IR's ``rt_info`` (under ``alexnet_gui``), the same
keys in both, every value a string. ``class_names`` and ``preprocessing`` are JSON; the others
are plain text. No torch here: the UI and readers of exported files use this module too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath

from alexnet_gui import __version__
from alexnet_gui.core.models.spec import Preprocessing, WeightsSpec

#: The rt_info section of an OpenVINO IR that holds the keys below.
RT_INFO_SECTION = "alexnet_gui"
#: Bump when a key changes meaning; readers check it.
METADATA_VERSION = "1"
INPUT_NAME = "image"
OUTPUT_NAME = "logits"

KEYS = (
    "alexnet_gui_metadata", "class_names", "preprocessing", "arch", "precision",
    "source_weights", "source_file", "app_version", "input", "output",
)  # fmt: skip


class MetadataError(ValueError):
    """The file carries no alexnet-gui metadata, or metadata this version cannot read."""


@dataclass(frozen=True)
class ExportedInfo:
    """The metadata of an exported model, read back."""

    categories: tuple[str, ...]
    preprocessing: Preprocessing
    arch: str
    precision: str
    source_weights: str
    app_version: str


def preprocessing_dict(pre: Preprocessing) -> dict[str, object]:
    """The recipe in words a program without this app can follow (see examples/)."""
    return {
        **pre.as_dict(),
        "input_size": pre.crop_size,
        "steps": (
            f"RGB; resize the shorter side to resize_size ({pre.interpolation}, antialiased); "
            "center-crop crop_size x crop_size; scale to [0, 1]; subtract mean, divide by std "
            "(per channel); NCHW float32"
        ),
        "channels": "RGB",
        "layout": "NCHW",
        "scale": 1 / 255,
    }


def export_metadata(spec: WeightsSpec, *, precision: str) -> dict[str, str]:
    """The key/value pairs written into an exported file for ``spec``'s model."""
    return {
        "alexnet_gui_metadata": METADATA_VERSION,
        "class_names": json.dumps(list(spec.categories), ensure_ascii=False),
        "preprocessing": json.dumps(preprocessing_dict(spec.preprocessing)),
        "arch": spec.arch,
        "precision": precision,
        "source_weights": spec.name,
        "source_file": PurePath(spec.source).name if spec.source else "",
        "app_version": f"alexnet-gui {__version__}",
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
    }


def read_metadata(props: Mapping[str, str]) -> ExportedInfo:
    """The metadata written by :func:`export_metadata`, from a file's key/value pairs."""
    version = props.get("alexnet_gui_metadata")
    if version is None:
        raise MetadataError("no alexnet-gui metadata in this model")
    if version != METADATA_VERSION:
        raise MetadataError(f"alexnet-gui metadata version {version} is not supported")
    try:
        categories = json.loads(props["class_names"])
        pre = Preprocessing.from_dict(json.loads(props["preprocessing"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise MetadataError(f"damaged alexnet-gui metadata ({exc})") from exc
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise MetadataError("damaged alexnet-gui metadata (class_names is not a list of names)")
    return ExportedInfo(
        categories=tuple(categories),
        preprocessing=pre,
        arch=props.get("arch", ""),
        precision=props.get("precision", ""),
        source_weights=props.get("source_weights", ""),
        app_version=props.get("app_version", ""),
    )
