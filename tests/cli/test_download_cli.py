"""``alexnet-gui download``: path on stdout, progress on stderr, one error line on failure."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

import alexnet_gui.cli
from alexnet_gui.cli import main
from alexnet_gui.cli.download import ProgressBar
from alexnet_gui.paths import torch_hub_checkpoints_dir

REGISTERED_COMMANDS = alexnet_gui.cli.COMMANDS


@pytest.fixture(autouse=True)
def only_download_command(monkeypatch):
    """Parse with the download command alone, so these tests do not depend on the others."""
    monkeypatch.setattr(alexnet_gui.cli, "COMMANDS", ("download",))


def _payload(size: int = 200_000) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, f"alexnet-test-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def _cache_files() -> list[str]:
    folder = torch_hub_checkpoints_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_is_a_registered_command():
    assert "download" in REGISTERED_COMMANDS


def test_download_prints_path_and_progress(weights_server, capsys):
    data, name = _payload()
    url = weights_server.add(f"/{name}", data)

    assert main(["download", "--url", url]) == 0

    out, err = capsys.readouterr()
    path = torch_hub_checkpoints_dir() / name
    assert out == f"{path}\n"
    assert path.read_bytes() == data
    assert err == ""  # stderr is not a terminal here: no bar


def test_already_present_says_so(weights_server, capsys, tmp_path):
    data, name = _payload()
    url = weights_server.add(f"/{name}", data)
    (tmp_path / name).write_bytes(data)

    assert main(["download", "--url", url, "--dir", str(tmp_path)]) == 0

    out, err = capsys.readouterr()
    assert out == f"{tmp_path / name}\n"
    assert err.startswith("Already downloaded")
    assert weights_server.requests == []


def test_mismatch_exits_1_with_one_error_line(weights_server, capsys):
    data, _ = _payload()
    url = weights_server.add("/alexnet-owt-00000000.pth", data)

    assert main(["download", "--url", url]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("alexnet-gui download: ")]
    assert errors == [lines[-1]]
    assert "does not match its SHA-256" in errors[0]
    assert "Traceback" not in err
    assert len(lines) == 1
    assert _cache_files() == []


def test_404_exits_1_with_exactly_one_line(weights_server, capsys):
    assert main(["download", "--url", weights_server.base_url + "/alexnet-owt-7be5be79.pth"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("alexnet-gui download: 127.0.0.1:")
    assert "HTTP 404" in err
    assert _cache_files() == []


def test_help_mentions_mirror(capsys):
    with pytest.raises(SystemExit) as info:
        main(["download", "--help"])
    assert info.value.code == 0
    assert "mirror" in capsys.readouterr().out


def test_progress_bar_redraws_on_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=True, mininterval=0)
    for done in range(0, 101, 10):
        bar.update(done * 1024 * 1024, 100 * 1024 * 1024)
    bar.close()
    text = stream.getvalue()
    assert "\r" in text and "Downloading" in text
    assert "100%" in text and "100M/100M" in text


def test_progress_bar_is_quiet_in_a_log():
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=False)
    total = 50 * 1024 * 1024
    for done in range(0, total + 1, 64 * 1024):
        bar.update(done, total)
    bar.close()
    assert stream.getvalue() == ""
