"""Exports: the annotated PNG with its JSON, and the CSV, written atomically."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import pytest
from PyQt5.QtGui import QImage

from alexnet_gui.core.results import ClassScore, ModelInfo, Prediction
from alexnet_gui.messages import ClassifyResult
from alexnet_gui.ui.export import ExportError, annotated_image, export_csv, export_result

SCORES = (ClassScore(1, 281, "tabby", 0.7), ClassScore(2, 285, "Egyptian cat", 0.2))


@pytest.fixture
def result(tmp_path) -> ClassifyResult:
    image = np.full((120, 200, 3), 240, np.uint8)
    info = ModelInfo("ImageNet (torchvision)", "torchvision", 1000, "/hub/a.pth", 224, "cpu")
    prediction = Prediction(SCORES, 31.5, "cpu", info.name, tta=False)
    return ClassifyResult(4, "cat.png", tmp_path / "cat.png", image, prediction, info, 2.5)


def test_export_writes_png_and_json(qapp, tmp_path, result):
    png, js = export_result(result, tmp_path / "cat-alexnet")  # .png is added
    assert png.name == "cat-alexnet.png" and js.name == "cat-alexnet.json"
    image = QImage(str(png))
    assert (image.width(), image.height()) == (200, 120)
    record = json.loads(js.read_text())
    assert record["image"] == "cat-alexnet.png"
    assert [p["label"] for p in record["predictions"]] == ["tabby", "Egyptian cat"]
    assert record["model"]["num_classes"] == 1000 and record["device"] == "cpu"
    assert record["timing_ms"] == {"decode": 2.5, "inference": 31.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat-alexnet.json", "cat-alexnet.png"]


def test_annotation_is_drawn_on_the_picture(qapp, result):
    image = annotated_image(result)
    plain = QImage(200, 120, QImage.Format_RGB32)
    plain.fill(0xFFF0F0F0)
    assert image != plain  # the box and the labels changed pixels


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_folder_gives_a_message_and_no_partial_file(qapp, tmp_path, result):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match=r"Cannot write to .*locked"):
            export_result(result, folder / "x.png")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_unwritable_folder_as_root_too(qapp, tmp_path, result, monkeypatch):
    """Root ignores chmod, so refuse the temporary file the way a read-only folder does."""

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ExportError, match=r"Cannot write to .*: Permission denied"):
        export_result(result, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_failure_halfway_removes_the_temporary_files(qapp, tmp_path, result, monkeypatch):
    real_replace = os.replace

    def fail_on_json(src, dst):
        if str(dst).endswith(".json"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_json)
    with pytest.raises(ExportError, match="No space left"):
        export_result(result, tmp_path / "x.png")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_csv(tmp_path):
    path = export_csv([("file", "top1"), ("a.jpg", "tabby, cat")], tmp_path / "t.csv")
    assert path.read_text() == 'file,top1\na.jpg,"tabby, cat"\n'


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX file modes")
def test_exported_files_get_the_users_umask(qapp, tmp_path, result):
    old = os.umask(0o022)
    try:
        png, js = export_result(result, tmp_path / "cat.png")
        table = export_csv([["a", "b"]], tmp_path / "t.csv")
    finally:
        os.umask(old)
    for path in (png, js, table):
        assert path.stat().st_mode & 0o777 == 0o644, path  # not mkstemp's 0600
