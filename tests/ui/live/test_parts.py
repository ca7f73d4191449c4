"""The live feature's Qt-free parts: the meter's bookkeeping and the snapshot files."""

from __future__ import annotations

import json
import tempfile
import time

import numpy as np
import pytest

from alexnet_gui.ui.export import ExportError
from alexnet_gui.ui.live.meter import LiveMeter
from alexnet_gui.ui.live.snapshot import SnapshotFrame, save_snapshot, snapshot_paths


def test_meter_matches_results_to_frames_and_paints_to_results():
    meter = LiveMeter()
    now = time.perf_counter()
    for request_id, index in ((1, 0), (2, 1), (3, 2)):
        meter.frame_shown(request_id, now - 0.050, index)
    assert meter.painted(with_overlay=False) is None  # a new frame, no result yet
    assert meter.result_shown(99) is None  # not this stream's
    assert meter.result_shown(2) == 1
    latency = meter.painted(with_overlay=True)
    assert latency is not None and latency >= 50.0
    assert meter.painted(with_overlay=True) is None  # the result was painted once already
    assert meter.result_shown(1) is None  # older than an answered one: forgotten
    assert meter.result_shown(3) == 2
    meter.forget_pending()  # a still image took the picture: nothing of the stream to time
    assert meter.painted(with_overlay=True) is None
    counters = meter.counters
    assert (counters.frames_shown, counters.frames_painted, counters.results_shown) == (3, 1, 2)
    assert counters.frames_painted_with_overlay == 0
    assert meter.latencies == [latency] and meter.median_latency() == latency


def test_meter_keeps_a_bounded_number_of_unanswered_frames():
    meter = LiveMeter()
    for request_id in range(1, 1000):
        meter.frame_shown(request_id, 0.0, request_id)
    assert meter.result_shown(1) is None  # long superseded
    assert meter.result_shown(999) == 999


def test_snapshot_writes_the_frame_and_a_record_without_a_result(tmp_path):
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[:, :4] = (255, 0, 0)
    png, record = save_snapshot(SnapshotFrame(rgb, "Camera 1", 41), None, tmp_path)
    assert png.parent == tmp_path and png.suffix == ".png" and record == png.with_suffix(".json")
    data = json.loads(record.read_text())
    assert data["predictions"] == [] and data["model"] is None
    assert (data["source"], data["frame"], data["result_frame"]) == ("Camera 1", 41, None)
    assert (data["width"], data["height"]) == (8, 6)


def test_snapshot_names_never_overwrite(tmp_path):
    stamp = time.time()
    first, _ = snapshot_paths(tmp_path, now=stamp)
    first.write_bytes(b"taken")
    second, second_json = snapshot_paths(tmp_path, now=stamp)
    assert second != first and second.stem == f"{first.stem}-2"
    assert second_json.stem == second.stem


def test_snapshot_in_an_unwritable_folder_leaves_nothing(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ExportError, match="Cannot write to"):
        save_snapshot(SnapshotFrame(np.zeros((4, 4, 3), np.uint8), "clip.avi", 0), None, tmp_path)
    assert list(tmp_path.iterdir()) == []
