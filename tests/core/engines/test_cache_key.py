"""Engines are keyed by the weights file's own SHA-256, remembered by path, size, mtime and inode;
old keys are simply not found; a file changed since it was loaded never lends its hash."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from alexnet_gui.core.engines.cache import EngineCache, weights_digest
from alexnet_gui.core.engines.select import select_engine
from alexnet_gui.core.models import filehash
from alexnet_gui.core.models.spec import weights_file_facts
from alexnet_gui.core.models.weights import LoadedModel, load_weights
from tests.fixtures.engines import FakeOpenVINO

FP32 = "openvino-fp32"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def aged(path: Path, seconds: float = 60.0) -> Path:
    """Set the mtime into the past: a file written just now is too fresh to be remembered."""
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


@pytest.fixture(scope="module")
def fruit(small_checkpoint_file: Path) -> LoadedModel:
    return load_weights(small_checkpoint_file)


def test_the_key_is_the_weights_files_sha256(
    fake_openvino: FakeOpenVINO, fruit: LoadedModel, small_checkpoint_file: Path, tmp_path: Path
) -> None:
    facts = weights_file_facts(fruit.spec)
    assert facts is not None and facts["kind"] == "checkpoint"
    select_engine(FP32, fruit.model, fruit.spec, cache=fake_openvino.cache)
    (entry,) = [p for p in fake_openvino.cache.root.iterdir() if FP32 in p.name]
    assert entry.name.startswith(sha256_of(small_checkpoint_file) + "-")
    # The same bytes under another name: the same engine, found without converting again.
    copy = aged(Path(shutil.copy2(small_checkpoint_file, tmp_path / "copy.pth")))
    again = load_weights(copy)
    select_engine(FP32, again.model, again.spec, cache=fake_openvino.cache)
    assert fake_openvino.converted == ["fp32"] and fake_openvino.loaded == ["fp32"]


def test_an_old_key_is_not_found_and_the_engine_is_converted_once(
    fake_openvino: FakeOpenVINO, fruit: LoadedModel
) -> None:
    in_memory = LoadedModel(fruit.model, replace(fruit.spec, metadata={}))
    assert weights_file_facts(in_memory.spec) is None  # made in memory: keyed by its state
    select_engine(FP32, in_memory.model, in_memory.spec, cache=fake_openvino.cache)
    select_engine(FP32, fruit.model, fruit.spec, cache=fake_openvino.cache)
    select_engine(FP32, fruit.model, fruit.spec, cache=fake_openvino.cache)
    assert fake_openvino.converted == ["fp32", "fp32"]  # the file's key: one reconversion
    assert fake_openvino.loaded == ["fp32"]
    assert len([p for p in fake_openvino.cache.root.iterdir() if FP32 in p.name]) == 2


def test_a_file_changed_since_loading_lends_no_hash(
    small_checkpoint_file: Path, tmp_path: Path
) -> None:
    path = aged(Path(shutil.copy2(small_checkpoint_file, tmp_path / "fruit.pth")))
    loaded = load_weights(path)
    cache = EngineCache(tmp_path / "engines")
    assert weights_digest(loaded.spec, cache) == sha256_of(path)
    os.utime(path)  # touched: maybe other bytes now, not those the model was loaded from
    assert weights_digest(loaded.spec, cache) is None
    path.unlink()
    assert weights_digest(loaded.spec, cache) is None


def test_a_hash_is_remembered_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(b"a" * 4096)
    aged(path)
    memo = tmp_path / filehash.MEMO_NAME
    hashed: list[Path] = []
    real = filehash.file_sha256

    def counting(target: Path) -> str:
        hashed.append(Path(target))
        return real(target)

    monkeypatch.setattr(filehash, "file_sha256", counting)
    first = filehash.remembered_sha256(path, memo)
    assert first == sha256_of(path) and len(hashed) == 1
    assert filehash.remembered_sha256(path, memo) == first and len(hashed) == 1  # remembered
    path.write_bytes(b"b" * 4096)  # same size, other bytes, a new mtime
    aged(path, 30.0)
    assert filehash.remembered_sha256(path, memo) == sha256_of(path) != first
    assert len(hashed) == 2


def test_a_fresh_file_or_a_damaged_memo_is_hashed_again(tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(b"fresh")
    memo = tmp_path / filehash.MEMO_NAME
    assert filehash.remembered_sha256(path, memo) == sha256_of(path)
    assert not memo.exists()  # written just now: its mtime may still change unseen ("racy")
    aged(path)
    filehash.remembered_sha256(path, memo)
    assert json.loads(memo.read_text())[os.path.realpath(path)]["sha256"] == sha256_of(path)
    memo.write_text("{not json")
    assert filehash.remembered_sha256(path, memo) == sha256_of(path)
    with pytest.raises(OSError):
        filehash.remembered_sha256(tmp_path / "gone.pth", memo)


def test_the_memo_stays_beside_the_cache_and_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = EngineCache(tmp_path / "engines")
    assert cache.memo.parent == tmp_path  # the root holds entries only
    monkeypatch.setattr(filehash, "MEMO_LIMIT", 3)
    for i in range(5):
        path = tmp_path / f"w{i}.pth"
        path.write_bytes(bytes([i]) * 10)
        aged(path)
        cache.file_digest(path)
    kept = json.loads(cache.memo.read_text())
    assert [Path(name).name for name in kept] == ["w2.pth", "w3.pth", "w4.pth"]
