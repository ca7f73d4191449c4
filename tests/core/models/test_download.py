"""download_weights against a local server: a good file lands, every failure leaves nothing."""

from __future__ import annotations

import hashlib
import os

import pytest

from alexnet_gui.core.errors import DownloadError
from alexnet_gui.core.models import download
from alexnet_gui.core.models.download import download_weights, downloaded_path
from alexnet_gui.paths import torch_hub_checkpoints_dir


def _payload(size: int = 300_000) -> tuple[bytes, str]:
    """Random bytes and a torchvision-style file name carrying their SHA-256 prefix."""
    data = os.urandom(size)
    return data, f"alexnet-test-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def _cache_files() -> list[str]:
    folder = torch_hub_checkpoints_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_file_lands_in_torch_hub_cache_with_progress(weights_server):
    data, name = _payload()
    url = weights_server.add(f"/models/{name}", data)
    calls: list[tuple[int, int | None]] = []

    path = download_weights(url, progress=lambda done, total: calls.append((done, total)))

    assert path == torch_hub_checkpoints_dir() / name
    assert path.read_bytes() == data
    assert _cache_files() == [name]
    assert calls[0] == (0, len(data))
    assert calls[-1] == (len(data), len(data))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert downloaded_path(url) == path


def test_dest_dir_is_honoured(weights_server, tmp_path):
    data, name = _payload(1000)
    path = download_weights(weights_server.add(f"/{name}", data), dest_dir=tmp_path / "new")
    assert path == tmp_path / "new" / name
    assert _cache_files() == []


def test_hash_mismatch_leaves_nothing(weights_server):
    data, _ = _payload()
    url = weights_server.add("/alexnet-owt-00000000.pth", data)
    with pytest.raises(DownloadError, match=r"not match its SHA-256 \(expected 00000000\.\.\."):
        download_weights(url)
    assert _cache_files() == []


def test_cut_off_transfer_leaves_nothing(weights_server):
    data, name = _payload(3 * 1024 * 1024)
    url = weights_server.add(f"/{name}", data, cut_after=1024 * 1024)
    with pytest.raises(DownloadError, match=r"cut off after 1\.0 of 3\.0 MB; nothing was saved"):
        download_weights(url)
    assert _cache_files() == []


def test_404_names_host_and_status(weights_server):
    url = weights_server.base_url + "/missing/alexnet-owt-7be5be79.pth"
    with pytest.raises(DownloadError, match=r"answered HTTP 404 Not Found") as info:
        download_weights(url)
    assert "127.0.0.1:" in str(info.value)
    assert "\n" not in str(info.value)
    assert _cache_files() == []


def test_connection_refused_is_a_clear_message(refused_url):
    with pytest.raises(DownloadError, match=r"Cannot reach 127\.0\.0\.1:\d+ \(offline\?\)"):
        download_weights(refused_url, timeout=5)
    assert _cache_files() == []


def test_cancel_stops_and_leaves_nothing(weights_server):
    data, name = _payload(64 * 1024 * 40)
    url = weights_server.add(f"/{name}", data, delay=0.02)
    polls = 0

    def is_cancelled() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    with pytest.raises(DownloadError, match="cancelled; nothing was saved"):
        download_weights(url, is_cancelled=is_cancelled)
    assert polls == 4
    assert _cache_files() == []


def test_stalled_server_times_out(weights_server):
    data, name = _payload(1000)
    url = weights_server.add(f"/{name}", data, delay=1.0)
    with pytest.raises(DownloadError, match=r"stalled for 0\.2 s after 0\.0 of 0\.0 MB; nothing"):
        download_weights(url, timeout=0.2)
    assert _cache_files() == []


def test_keyboard_interrupt_removes_partial_and_propagates(weights_server):
    data, name = _payload()
    url = weights_server.add(f"/{name}", data)

    def interrupt(done: int, total: int | None) -> None:
        if (torch_hub_checkpoints_dir() / f"{name}.partial").exists():
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_weights(url, progress=interrupt)
    assert _cache_files() == []


def test_stale_partial_is_replaced(weights_server):
    data, name = _payload()
    folder = torch_hub_checkpoints_dir()
    folder.mkdir(parents=True)
    (folder / f"{name}.partial").write_bytes(b"left over from a crash" * 50_000)

    path = download_weights(weights_server.add(f"/{name}", data))

    assert path.read_bytes() == data
    assert _cache_files() == [name]


def test_present_file_is_not_downloaded_again(weights_server):
    data, name = _payload()
    url = weights_server.add(f"/{name}", data)
    folder = torch_hub_checkpoints_dir()
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)

    assert download_weights(url, progress=lambda *_: pytest.fail("downloaded")) == folder / name
    assert weights_server.requests == []


def test_corrupt_present_file_is_replaced(weights_server):
    data, name = _payload()
    url = weights_server.add(f"/{name}", data)
    folder = torch_hub_checkpoints_dir()
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"truncated")
    assert downloaded_path(url) is None

    assert download_weights(url).read_bytes() == data
    assert weights_server.requests == [f"/{name}"]


def test_mirror_name_without_hash_is_checked_against_official_prefix(weights_server):
    """A renamed file is saved under the official name, so the app finds it, or not at all."""
    data, _ = _payload(1000)
    url = weights_server.add("/mirror/alexnet.pth", data)
    with pytest.raises(DownloadError, match=r"expected 7be5be79\.\.\."):
        download_weights(url)
    assert _cache_files() == []


def test_mirror_file_saved_under_official_name(weights_server, monkeypatch):
    data, name = _payload(1000)
    monkeypatch.setattr(download, "_official_file_name", lambda: name)
    path = download_weights(weights_server.add("/mirror/weights.pth", data))
    assert path == torch_hub_checkpoints_dir() / name


def test_encoded_slashes_cannot_leave_dest_dir(weights_server, tmp_path):
    data, name = _payload(1000)
    weights_server.add(f"/..%2F..%2F{name}", data)
    dest = tmp_path / "a" / "b"
    path = download_weights(f"{weights_server.base_url}/..%2F..%2F{name}", dest_dir=dest)
    assert path == dest / name


def test_disk_error_is_a_download_error(weights_server, tmp_path):
    data, name = _payload(1000)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DownloadError, match="Cannot create"):
        download_weights(weights_server.add(f"/{name}", data), dest_dir=blocker / "sub")
    assert weights_server.requests == []


def test_not_a_url():
    with pytest.raises(DownloadError, match="Not a download address"):
        download_weights("nonsense-7be5be79.pth")
